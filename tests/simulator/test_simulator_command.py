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
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_ingest("simulator", *args, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


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
