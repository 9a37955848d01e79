"""``ingest run --embedded --serve``: the HTTP service in the embedded process, its actions sent
to the in-process broker and applied by the in-process worker."""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.service.conftest import SYNTH
from tests.service.test_serve_command import stop
from tests.support.http_service import API_SECTION, MANAGE_TOKEN, READ_TOKEN, bearer, free_port

BASE = "/api/catalog/incremental"


def start_embedded(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    config = tmp_path / "ingest.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{tmp_path / 'embedded.db'}",
                "providers": [SYNTH],
                "api": API_SECTION,
            }
        )
    )
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "run", "--embedded", "--serve", "--port", str(port),
         "--config", str(config)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def provider_status(base_url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{base_url}{BASE}/providers/synth", headers=bearer(READ_TOKEN))
    except httpx.TransportError:
        return None
    body: dict[str, Any] = response.json()
    return body


def wait_for_status(base_url: str, what: str, check: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = provider_status(base_url)
        if body is not None and check(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {provider_status(base_url)}")


def test_the_embedded_run_serves_and_applies_actions_through_its_own_worker(
    tmp_path: Path,
) -> None:
    process, base_url = start_embedded(tmp_path)
    try:
        first = wait_for_status(
            base_url, "the first pass", lambda b: b["status"]["current_action"] == "resting"
        )
        response = httpx.post(
            f"{base_url}{BASE}/providers/synth/start", headers=bearer(MANAGE_TOKEN), timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["taskId"], "the action was not sent to the in-process broker"
        wait_for_status(
            base_url,
            "a second pass after the start",
            lambda b: (
                b["current"]["ingestion_id"] != first["current"]["ingestion_id"]
                and b["status"]["current_action"] == "resting"
            ),
        )
    finally:
        code, output = stop(process)
    assert "serving on http://127.0.0.1" in output
    assert code == 0, output
