"""An event posted to the HTTP ingress reaches the provider's handler through a real worker:
the service (real uvicorn on loopback) enqueues ``ingest.event`` on Redis, a Celery worker
process applies it to PostgreSQL, and the component appears in the catalog without a pass.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Engine

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.service.context import build_context
from tests.celery.test_events import NAME, SPEC, component_payload, component_ref, provider
from tests.support.celery_deployment import Deployment, wait_for, write_config
from tests.support.http_service import API_SECTION, EVENTS_TOKEN, bearer, running_service
from tests.support.simulator_harness import Running, running


@pytest.fixture
def upstream() -> Iterator[Running]:
    with running(SPEC) as sim:
        yield sim


@pytest.fixture
def deployed(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str, upstream: Running
) -> Iterator[Deployment]:
    path = write_config(tmp_path / "ingest.yaml", database_url, redis_url, [provider(upstream.url)])
    document = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**document, "api": API_SECTION}))
    # environ={}: the file's Redis database index, as the workers (whose environment drops
    # REDIS_URL) read it.
    deployed = Deployment(path, load_config(path, environ={}), database)
    try:
        deployed.start_worker("w1", concurrency=2)
        yield deployed
    finally:
        deployed.stop()


def test_an_event_posted_to_the_ingress_is_applied_by_a_worker(
    deployed: Deployment, upstream: Running
) -> None:
    [path] = upstream.dataset.mutate(add=1, seed=4, levels=("component",)).added
    assert component_ref(path) not in deployed.catalog_refs()
    context = build_context(deployed.config)
    try:
        with running_service(context) as url:
            response = httpx.post(
                f"{url}/api/events/http/openchoreo",
                json=component_payload(path, "created"),
                headers=bearer(EVENTS_TOKEN),
                timeout=30,
            )
    finally:
        context.close()

    assert response.status_code == 202, response.text
    [task] = response.json()["tasks"]
    assert task["provider"] == NAME
    wait_for(lambda: component_ref(path) in deployed.catalog_refs(), 60, "the event's component")
    succeeded = f"ingest.event[{task['taskId']}] succeeded"
    log = wait_for(lambda: _log_with(deployed, succeeded), 30, "the event task to succeed")
    assert "event applied" in log
    # the event task itself wrote the component (its summary), not a pass (the hand-over may
    # start the provider's first pass right after it: the test does not depend on it)
    [summary] = [line for line in log.splitlines() if succeeded in line]
    assert "'status': 'applied'" in summary and "'added': 0" not in summary


def _log_with(deployed: Deployment, text: str) -> str | None:
    log = deployed.workers[0].log_path.read_text(errors="replace")
    return log if text in log else None
