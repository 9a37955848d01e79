"""Worker logs: the configured secrets are redacted from every line of a real worker, and
Celery's lines and the project's share one format, with the task's provider and id bound.

The upstream here echoes the caller's bearer token in its error bodies, the way a careless
proxy or API gateway does. The token does not look like a credential (no ``token=``, no
``Bearer``), so only the configured-secrets redaction can hide it.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from catalog_ingest.simulator.server import serve_in_thread
from tests.support.celery_deployment import deployment, wait_for
from tests.support.cli_runner import run_ingest
from workers import task_names

TOKEN = "q7Lw9f-Pz31kd-Xv82"
PROVIDER = "choreo"


def _echo_the_token(request: Request) -> JSONResponse:
    caller = request.headers.get("authorization", "").removeprefix("Bearer ")
    body = {"success": False, "error": f"caller {caller} may not list this", "code": "DENIED"}
    return JSONResponse(body, status_code=503)


@pytest.fixture
def echoing_upstream() -> Iterator[str]:
    app = Starlette(routes=[Route("/{path:path}", _echo_the_token)])
    with serve_in_thread(app) as url:
        yield url


def _provider(base_url: str) -> dict[str, Any]:
    return {
        "name": PROVIDER,
        "type": "openchoreo",
        "settings": {"base_url": base_url, "token": TOKEN, "retries": 1},
        "options": {"backoff": [600], "burst_length": 2},
    }


def _json_lines(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_a_token_echoed_by_the_upstream_appears_in_no_log_line_error_or_status(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str, echoing_upstream: str
) -> None:
    providers = [_provider(echoing_upstream)]
    with deployment(tmp_path, database, database_url, redis_url, providers) as deployed:
        worker = deployed.start_worker("w1", concurrency=1, INGEST_LOG_FORMAT="json")
        deployed.send(task_names.TICK, PROVIDER)

        def backing_off() -> Any:
            row = deployed.open_ingestion(PROVIDER)
            return row if row is not None and row.status == "backing off" else None

        failed = wait_for(backing_off, 60, "the burst to fail and back off")
        wait_for(lambda: "backed off" in worker.log_path.read_text(), 10, "the outcome logged")
        status = run_ingest("status", "--json", "--config", str(deployed.config_path))
        log = worker.log_path.read_text(errors="replace")

    assert TOKEN not in log
    assert TOKEN not in failed.last_error
    assert "caller *** may not list this" in failed.last_error
    assert status.returncode == 0, status.stderr
    assert TOKEN not in status.stdout + status.stderr
    assert "caller *** may not list this" in status.stdout

    lines = _json_lines(log)
    [retry, *_] = [line for line in lines if line["event"] == "retrying OpenChoreo request"]
    assert "caller *** may not list this" in retry["failure"]
    assert retry["provider"] == PROVIDER
    assert retry["task"] == task_names.BURST
    assert retry["task_id"]
    assert retry["level"] == "info"

    # Celery's own lines come out in the same JSON format, through the same redaction.
    ready = [line for line in lines if line["event"].endswith(" ready.")]
    assert ready and ready[0]["logger"].startswith("celery")
    [failure] = [line for line in lines if line["event"] == "burst failed"]
    assert "caller *** may not list this" in failure["error"]
    assert failure["logger"] == "catalog_ingest.engine.state_table"
    assert failure["provider"] == PROVIDER
    [outcome] = [line for line in lines if "'action': 'backed off'" in line["event"]]
    assert outcome["logger"] == "celery.app.trace"
    assert outcome["task_id"] == retry["task_id"]
