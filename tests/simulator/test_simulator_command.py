"""``ingest simulator`` as users run it: one line on start, clean errors, Ctrl-C stops it."""

import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.support.cli_runner import run_ingest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--orgs", "-1"], "error: orgs must be >= 0, got -1"),
        (["--fault-rate", "2"], "error: --fault-rate must be within [0, 1], got 2.0"),
        (["--hidden-every", "1"], "error: hidden_every must be >= 2, got 1"),
        (["--token-max-uses", "0"], "error: token max uses must be >= 1, got 0"),
        (["--api", "v2"], "error: --api must be one of namespaces, orgs, both, got 'v2'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_ingest("simulator", *args, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


def _serve(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``ingest simulator`` on a free port; its first line and the process."""
    environment = {**os.environ, **(env or {})}
    environment.pop("INGEST_CONFIG", None)
    command = [sys.executable, "-m", "cli", "simulator", "--port", "0", *args]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline()


def _stop(process: subprocess.Popen[str]) -> str:
    """Interrupt it as Ctrl-C would; its stderr."""
    try:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return stderr


@pytest.mark.parametrize(
    ("api", "served", "refused"),
    [("namespaces", "/namespaces", "/orgs"), ("orgs", "/orgs", "/namespaces")],
)
def test_the_api_option_picks_the_generation_served(api: str, served: str, refused: str) -> None:
    process, line = _serve("--orgs", "2", "--projects", "1", "--components", "2", "--api", api)
    try:
        assert f"/api/v1 ({served}): 2 orgs" in line
        url = line.split(" on ", 1)[1].split("/api/v1", 1)[0]
        assert httpx.get(f"{url}/api/v1{served}").status_code == 200
        assert httpx.get(f"{url}/api/v1{refused}").status_code == 404
    finally:
        stderr = _stop(process)
    assert process.returncode == 0
    assert stderr.strip() == "stopped"


def test_both_generations_are_served_by_default() -> None:
    process, line = _serve("--orgs", "1", "--projects", "1", "--components", "1")
    try:
        assert "/api/v1 (/namespaces and /orgs): 1 orgs" in line
        url = line.split(" on ", 1)[1].split("/api/v1", 1)[0]
        for path in ("/namespaces", "/orgs"):
            assert httpx.get(f"{url}/api/v1{path}").status_code == 200
    finally:
        _stop(process)


def test_it_serves_with_the_token_from_the_environment_until_interrupted() -> None:
    environment = {**os.environ, "SIM_SECRET": "cli-s3cret"}
    environment.pop("INGEST_CONFIG", None)
    command = [sys.executable, "-m", "cli", "simulator", "--port", "0", "--orgs", "2"]
    command += ["--projects", "2", "--components", "3", "--token-env", "SIM_SECRET"]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "2 orgs, 4 projects, 12 components" in line
        url = line.split(" on ", 1)[1].split("/api/v1", 1)[0]
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        assert httpx.get(f"{url}/api/v1/orgs").status_code == 401
        orgs = httpx.get(f"{url}/api/v1/orgs", headers={"Authorization": "Bearer cli-s3cret"})
        assert len(orgs.json()["data"]["items"]) == 2
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert stderr.strip() == "stopped"
    assert "cli-s3cret" not in line + stderr
