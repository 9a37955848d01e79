"""kill -9 a worker mid-burst: a new worker finishes the pass, nothing lost, nothing twice."""

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from catalog_ingest.providers.synthetic import SyntheticSource
from models.tables import mark_entities
from tests.support.celery_deployment import deployment, wait_for

ENTITIES, PAGE = 3000, 100
PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    # Long bursts, so the kill lands inside one.
    "options": {"burst_length": 20, "burst_interval": 5},
    "settings": {"entities": ENTITIES, "page_size": PAGE, "page_delay_ms": 250, "seed": 9},
}
SHORT_LIMITS = {"INGEST_TIME_LIMIT_MARGIN": "2"}
"""Lock TTL = burst_length + 3 x margin = 26 s: the dead worker's lock expires in time."""


def test_a_new_worker_finishes_the_pass_after_kill_9_mid_burst(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [PROVIDER]) as deployed:
        victim = deployed.start_worker("victim", concurrency=1, **SHORT_LIMITS)
        deployed.send("ingest.tick", "synth")

        def mid_burst() -> Any:
            row = deployed.open_ingestion("synth")
            return row if row is not None and row.status == "bursting" and row.pages >= 3 else None

        before = wait_for(mid_burst, 60, "a burst with a few committed pages")
        victim.kill()
        assert before.pages < ENTITIES // PAGE

        deployed.start_worker("survivor", concurrency=2, **SHORT_LIMITS)
        deadline = time.monotonic() + 150
        while deployed.resting("synth") is None:
            assert time.monotonic() < deadline, "the survivor did not finish the pass"
            deployed.send("ingest.tick", "synth")
            time.sleep(1)

        done = deployed.resting("synth")
        assert done.id == before.id  # the same pass continued: nothing restarted
        assert deployed.sequences(done.id) == list(range(1, ENTITIES // PAGE + 1))
        assert done.pages == ENTITIES // PAGE
        with database.connect() as connection:
            marked = connection.execute(
                select(func.count())
                .select_from(mark_entities)
                .where(mark_entities.c.ingestion_id == done.id)
            ).scalar_one()
        assert marked == ENTITIES
        source = SyntheticSource(size=ENTITIES, seed=9)
        assert deployed.catalog_refs() == {source.ref_of(i) for i in range(ENTITIES)}
        rows = deployed.burst_rows("synth")
        assert [row.id for row in rows if row.ended_at is None] == []
        killed = [row for row in rows if row.outcome == "abandoned"]
        assert len(killed) == 1  # the victim's burst: never ended, closed by the next burst
