"""Burst messages: a stale one is dropped, and one sent by hand still runs under time limits."""

import time
from pathlib import Path

from sqlalchemy import Engine

from tests.support.celery_deployment import deployment, wait_for
from workers.context import build_context, install

OPTIONS = {"burst_length": 4, "burst_interval": 5}
PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    "options": OPTIONS,
    "settings": {"entities": 600, "page_size": 100, "page_delay_ms": 1000, "seed": 5},
}


def test_a_burst_older_than_one_tick_interval_is_dropped_unrun(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [PROVIDER]) as deployed:
        assert deployed.app.main  # the test's app is Celery's current one from here on
        install(build_context(deployed.config))
        try:
            from tasks.ingest import enqueue_burst

            task_id = enqueue_burst("synth")  # no worker is running: the message waits
        finally:
            install(None)
        time.sleep(OPTIONS["burst_interval"] + 1)
        worker = deployed.start_worker("w1", concurrency=1)

        wait_for(lambda: task_id in worker.log(), 30, f"the worker to receive {task_id}")
        discarded = f"Discarding revoked task: ingest.burst[{task_id}]"
        wait_for(lambda: discarded in worker.log(), 30, "the worker to drop the stale burst")
        assert deployed.burst_rows("synth") == []
        assert deployed.open_ingestion("synth") is None


def test_a_burst_sent_by_hand_is_cut_short_by_the_providers_soft_time_limit(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    hanging = {  # a page takes 6 s; with a 1 s margin the soft limit is 1 + 1 = 2 s
        **PROVIDER,
        "options": {"burst_length": 1, "burst_interval": 5},
        "settings": {"entities": 200, "page_size": 100, "page_delay_ms": 6000},
    }
    with deployment(tmp_path, database, database_url, redis_url, [hanging]) as deployed:
        worker = deployed.start_worker("w1", concurrency=1, INGEST_TIME_LIMIT_MARGIN="1")
        sent = time.monotonic()

        deployed.send("ingest.burst", "synth")  # as `celery call` or Flower would: no limits

        row = wait_for(
            lambda: deployed.backing_off("synth"), 30, "the hanging burst to be cut short"
        )
        assert "SoftTimeLimitExceeded" in row.last_error
        assert time.monotonic() - sent < 6  # well before the page would have ended
        assert deployed.sequences(row.id) == []
        # the pool child's guard (workers/stray_time_limits.py) passed the signal to the task
        assert "stray soft time limit signal ignored" not in worker.log_path.read_text()
