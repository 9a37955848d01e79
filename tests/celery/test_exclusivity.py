"""Two worker processes and a flood of duplicate ticks: bursts of a provider never overlap."""

import itertools
import time
from pathlib import Path

from sqlalchemy import Engine

from catalog_ingest.providers.synthetic import SyntheticSource
from tests.support.celery_deployment import deployment

PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    "options": {"burst_length": 1, "burst_interval": 5},
    "settings": {"entities": 2000, "page_size": 100, "page_delay_ms": 120, "seed": 5},
}


def test_bursts_never_overlap_under_a_flood_of_ticks_from_two_workers(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [PROVIDER]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        deployed.start_worker("w2", concurrency=2)
        deadline = time.monotonic() + 120
        while deployed.resting("synth") is None:
            assert time.monotonic() < deadline, "the pass did not complete in 120 s"
            for _ in range(5):  # duplicates: ticks and bursts straight from the flood
                deployed.send("ingest.tick", "synth")
                deployed.send("ingest.burst", "synth")
            time.sleep(0.3)

        rows = deployed.burst_rows("synth")
        assert len(rows) >= 3  # 20 pages x 120 ms cannot fit one 1 s burst
        for earlier, later in itertools.pairwise(rows):
            assert earlier.ended_at is not None, f"burst {earlier.id} never ended"
            assert earlier.ended_at <= later.started_at, (
                f"bursts overlap: fence {earlier.fence} ran {earlier.started_at}.."
                f"{earlier.ended_at}, fence {later.fence} started {later.started_at}"
            )
            assert earlier.fence < later.fence
        source = SyntheticSource(size=2000, seed=5)
        assert deployed.catalog_refs() == {source.ref_of(i) for i in range(2000)}
        done = deployed.resting("synth")
        assert deployed.sequences(done.id) == list(range(1, 21))
