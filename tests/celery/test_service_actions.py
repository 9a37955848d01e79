"""The HTTP service's actions, enqueued as admin tasks, take effect on a running worker:
cancel stops a running pass, trigger resumes, start and reset act through the worker too."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.service.context import build_context
from tests.celery.test_admin_and_flower import SLOW
from tests.support.celery_deployment import Deployment
from tests.support.http_service import API_SECTION, MANAGE_TOKEN, bearer, running_service
from tests.support.operator_commands import (
    PROVIDER,
    ingestion_row,
    logged_result,
    open_with,
    ticking_until,
)

BASE = "/api/catalog/incremental"


@contextmanager
def served_deployment(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> Iterator[tuple[Deployment, str]]:
    """A deployment whose config has api tokens (actions enqueued), and its service."""
    path = tmp_path / "ingest.yaml"
    document: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "providers": [SLOW],
        "api": {**API_SECTION, "actions": "enqueue"},
    }
    path.write_text(yaml.safe_dump(document))
    # environ={}: the file's URLs, as the worker reads them (see celery_deployment.deployment)
    config = load_config(path, environ={})
    deployed = Deployment(path, config, database)
    context = build_context(config)
    try:
        with running_service(context) as base_url:
            yield deployed, base_url
    finally:
        context.close()
        deployed.stop()


def post(base_url: str, path: str, method: str = "POST") -> dict[str, Any]:
    response = httpx.request(method, base_url + path, headers=bearer(MANAGE_TOKEN), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["taskId"], body
    return body


def pages_of(deployed: Deployment, ingestion_id: str) -> int:
    return int(ingestion_row(deployed, ingestion_id).pages)


def test_cancel_stops_the_running_pass_on_the_worker_and_trigger_resumes_it(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with served_deployment(tmp_path, database, database_url, redis_url) as (deployed, url):
        deployed.start_worker("w1", concurrency=2)
        running = ticking_until(
            deployed, lambda: open_with(deployed, lambda row: row.pages >= 1), 60, "a first page"
        )

        task_id = post(url, f"{BASE}/providers/{PROVIDER}/cancel")["taskId"]

        assert "current ingestion canceled" in logged_result(deployed, "ingest.cancel", task_id)
        closed = ingestion_row(deployed, running.id)
        assert (closed.status, closed.next_action) == ("complete", "nothing (canceled)")
        stopped_at = pages_of(deployed, running.id)
        paused = deployed.open_ingestion(PROVIDER)
        assert paused.status == "paused"
        assert paused.next_action_at > datetime.now(UTC) + timedelta(hours=23)
        for _ in range(6):  # beat's ticks find nothing due; no page is added to either pass
            deployed.send("ingest.tick", PROVIDER)
            time.sleep(0.5)
        assert pages_of(deployed, running.id) <= stopped_at + 1  # at most the page in flight
        assert pages_of(deployed, paused.id) == 0

        post(url, f"{BASE}/providers/{PROVIDER}/trigger")
        ticking_until(
            deployed,
            lambda: open_with(deployed, lambda row: row.id == paused.id and row.pages >= 1),
            60,
            "the triggered pass to commit a page",
        )


def test_start_and_reset_through_the_api_are_applied_by_the_worker(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with served_deployment(tmp_path, database, database_url, redis_url) as (deployed, url):
        deployed.start_worker("w1", concurrency=2)
        running = ticking_until(
            deployed, lambda: open_with(deployed, lambda row: row.pages >= 1), 60, "a first page"
        )
        task_id = post(url, f"{BASE}/providers/{PROVIDER}/start")["taskId"]
        assert "the running pass is canceled" in logged_result(deployed, "ingest.start", task_id)
        fresh = ticking_until(
            deployed,
            lambda: open_with(deployed, lambda row: row.id != running.id and row.pages >= 1),
            60,
            "a new pass after the start",
        )
        task_id = post(url, f"{BASE}/providers/{PROVIDER}", method="DELETE")["taskId"]
        assert "purged" in logged_result(deployed, "ingest.reset", task_id)
        assert ingestion_row(deployed, fresh.id) is None
