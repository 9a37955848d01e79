"""``ingest.project``'s body, run in this process with a worker context installed (the beat
entry and its routing are in ``tests/test_beat_schedule.py``): it applies what the change feed
holds beyond the projection, then finds nothing to do."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_ingest.app.composition import build_runtime
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.engine.outcome import TickAction
from models.search_projection import lag
from tasks.projection import project
from tests.service.conftest import PROVIDER, SYNTH, write_service_config
from workers import context as worker_context
from workers.context import WorkerContext
from workers.worker_settings import WorkerSettings


@pytest.fixture
def installed(tmp_path: Path, service_database_url: str) -> Iterator[WorkerContext]:
    runtime = build_runtime(
        load_config(write_service_config(tmp_path / "ingest.yaml", service_database_url))
    )
    context = WorkerContext(runtime, WorkerSettings())
    worker_context.install(context)
    try:
        yield context
    finally:
        worker_context.install(None)
        runtime.close()


def test_the_task_projects_the_feed_then_has_nothing_left(installed: WorkerContext) -> None:
    runtime = installed.runtime
    assert runtime.engine.tick(PROVIDER).action is TickAction.PASS_COMPLETED
    entities = SYNTH["settings"]["entities"]  # type: ignore[index]
    assert lag(runtime.database) == entities
    assert project() == {"applied": entities, "behind": 0}
    assert project() == {"applied": 0, "behind": 0}
