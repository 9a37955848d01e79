"""``ingest serve`` as an operator runs it: refuses to run unauthenticated, never shows a token."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.service.conftest import SYNTH
from tests.support.cli_runner import run_ingest
from tests.support.http_service import (
    API_SECTION,
    MANAGE_TOKEN,
    READ_TOKEN,
    WRONG_TOKEN,
    bearer,
    free_port,
)

PROVIDERS = "/api/catalog/incremental/providers"


def config_file(tmp_path: Path, api: dict[str, Any] | None) -> Path:
    document: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'serve.db'}",
        "providers": [SYNTH],
    }
    if api is not None:
        document["api"] = api
    path = tmp_path / "ingest.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def start_serving(config: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--config", str(config), "--port", str(port),
         *options],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ingest serve exited: {process.stdout.read()}")  # type: ignore[union-attr]
        try:
            httpx.get(f"{base_url}/api/catalog/incremental/health", timeout=1)
            return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("ingest serve did not answer within 30 s")


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return process.returncode, output


def test_serve_refuses_to_run_without_a_token(tmp_path: Path) -> None:
    result = run_ingest("serve", "--config", str(config_file(tmp_path, None)), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no API token configured" in lines[0], result.stderr
    unset = {"tokens": [{"name": "ops", "token": "", "scopes": ["read"]}]}
    result = run_ingest("serve", "--config", str(config_file(tmp_path, unset)), timeout=60)
    assert result.returncode == 2 and "no API token configured" in result.stderr


def test_insecure_local_is_for_loopback_only_and_then_every_route_is_open(tmp_path: Path) -> None:
    config = config_file(tmp_path, None)
    exposed = run_ingest(
        "serve", "--config", str(config), "--insecure-local", "--host", "0.0.0.0", timeout=60
    )
    assert exposed.returncode == 2
    assert "loopback addresses only" in exposed.stderr
    process, base_url = start_serving(config, "--insecure-local")
    try:
        response = httpx.get(base_url + PROVIDERS, timeout=10)
        assert response.json() == {"success": True, "providers": ["synth"]}
    finally:
        stop(process)


def test_tokens_never_reach_the_output_or_the_answers(tmp_path: Path) -> None:
    process, base_url = start_serving(config_file(tmp_path, API_SECTION))
    try:
        assert httpx.get(base_url + PROVIDERS, headers=bearer(READ_TOKEN)).status_code == 200
        refused = httpx.get(base_url + PROVIDERS, headers=bearer(WRONG_TOKEN))
        assert refused.status_code == 401 and WRONG_TOKEN not in refused.text
        scoped = httpx.post(f"{base_url}{PROVIDERS}/synth/trigger", headers=bearer(READ_TOKEN))
        assert scoped.status_code == 403 and READ_TOKEN not in scoped.text
        assert "reader" in scoped.json()["error"]["message"]  # the token's name, not its value
    finally:
        code, output = stop(process)
    assert code == 130, output  # uvicorn shuts down, then re-raises the SIGINT it caught
    assert "Finished server process" in output
    assert "GET /api/catalog/incremental/providers" in output  # the access log was written
    for token in (READ_TOKEN, WRONG_TOKEN, MANAGE_TOKEN):
        assert token not in output


def test_a_short_token_is_one_config_line_without_the_token(tmp_path: Path) -> None:
    short = {"tokens": [{"name": "ops", "token": "tooshort123", "scopes": ["read"]}]}
    result = run_ingest("check-config", str(config_file(tmp_path, short)))
    assert result.returncode == 2
    assert "at least 16 characters" in result.stderr
    assert "tooshort123" not in result.stderr + result.stdout
