"""A real worker process runs a provider to completion through ticks."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from catalog_ingest.providers.synthetic import SyntheticSource
from tests.support.celery_deployment import deployment, wait_for

PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    "options": {"burst_length": 1, "burst_interval": 5},
    "settings": {"entities": 1500, "page_size": 100, "page_delay_ms": 150, "seed": 3},
}


def test_ticks_drive_a_worker_through_a_whole_pass_and_the_catalog_equals_the_source(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [PROVIDER]) as deployed:
        deployed.start_worker("w1", concurrency=2)

        def resting_after_a_tick() -> Any:
            deployed.send("ingest.tick", "synth")
            return deployed.resting("synth")

        done = wait_for(resting_after_a_tick, 90, "the pass to complete", every=1.0)
        source = SyntheticSource(size=1500, seed=3)
        assert deployed.catalog_refs() == {source.ref_of(i) for i in range(1500)}
        assert deployed.sequences(done.id) == list(range(1, 16))
        assert len(deployed.burst_rows("synth")) >= 2  # 15 pages x 150 ms > one 1 s burst
