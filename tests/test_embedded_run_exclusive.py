"""Two ``ingest run --embedded`` on one database: the second refuses at start, naming it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from catalog_ingest.coordination.embedded_claim import DatabaseInUseError, embedded_claim
from models.database import create_database_engine
from tests.support.celery_deployment import DEFAULT_REDIS_URL
from tests.support.databases import scratch_postgres_database

PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    "options": {"burst_length": 1, "burst_interval": 5, "rest_length": 1},
    "settings": {"entities": 300, "page_size": 50, "page_delay_ms": 200},
}
STARTED = "embedded mode: 1 provider(s)"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("DATABASE_URL", "REDIS_URL", "INGEST_CONFIG", "INGEST_LOG_LEVEL"):
        env.pop(key, None)
    return env


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "run", "--embedded", "--config", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=_env(),
        )


def _wait_started(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while STARTED not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the embedded run never started"
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ingest.yaml"
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    path.write_text(yaml.safe_dump({"database_url": database_url, "providers": [PROVIDER]}))
    return path


@pytest.fixture
def first(config: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = _start(config, tmp_path / "first.log")
    yield process
    if process.poll() is None:
        _stop(process)


def test_a_second_embedded_run_on_one_sqlite_file_refuses_at_start_naming_the_file(
    config: Path, tmp_path: Path, first: subprocess.Popen[bytes]
) -> None:
    _wait_started(first, tmp_path / "first.log")

    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-m", "cli", "run", "--embedded", "--config", str(config)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert second.returncode == 2, second.stderr
    assert time.monotonic() - started < 20
    [line] = second.stderr.strip().splitlines()
    database = str((tmp_path / "catalog.db").resolve())
    assert line.startswith(f"error: database {database} is in use by another `ingest run")
    assert f"(pid {first.pid})" in line
    assert first.poll() is None  # the first one carries on

    assert _stop(first) == 0
    third = _start(config, tmp_path / "third.log")
    try:
        _wait_started(third, tmp_path / "third.log")
    finally:
        assert _stop(third) == 0


def _tick(config: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "tick", "synth", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**_env(), "REDIS_URL": redis_url},
        timeout=60,
        check=False,
    )


def test_tick_refuses_while_an_embedded_run_holds_the_sqlite_file_and_runs_once_it_stops(
    config: Path, tmp_path: Path, first: subprocess.Popen[bytes]
) -> None:
    _wait_started(first, tmp_path / "first.log")
    unreachable = "redis://127.0.0.1:1/0"  # refused before Redis is ever asked

    refused = _tick(config, unreachable)

    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    database = str((tmp_path / "catalog.db").resolve())
    assert line == (
        f"error: database {database} is in use by `ingest run --embedded` (pid {first.pid}), "
        "which runs its providers' steps itself; stop it first to run one by hand"
    )
    assert first.poll() is None

    assert _stop(first) == 0
    ticked = _tick(config, _redis_database_0())
    assert ticked.returncode == 0, ticked.stderr
    assert ticked.stdout.startswith("synth: ")


def _redis_database_0() -> str:
    """The test server's database 0, which the tests never flush (the lock is released)."""
    base = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    return urlunsplit((base.scheme, base.netloc, "/0", "", ""))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_shared_claims_coexist_and_exclude_an_embedded_run_both_ways(
    kind: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'catalog.db'}"
        else:
            url = stack.enter_context(scratch_postgres_database("ingest_claim"))
        one, two, three = (create_database_engine(url) for _ in range(3))
        for engine in (one, two, three):
            stack.callback(engine.dispose)

        refused_by_ticks = pytest.raises(DatabaseInUseError, match="or `ingest tick`")
        ticks = (embedded_claim(one, shared=True), embedded_claim(two, shared=True))
        with ticks[0], ticks[1], refused_by_ticks, embedded_claim(three):
            pass
        refused_by_the_run = pytest.raises(DatabaseInUseError, match="to run one by hand")
        with embedded_claim(three), refused_by_the_run, embedded_claim(one, shared=True):
            pass
        with embedded_claim(one, shared=True):
            pass


def test_a_second_embedded_claim_on_one_postgresql_database_is_refused_until_released() -> None:
    with scratch_postgres_database("ingest_claim") as url:
        one = create_database_engine(url)
        two = create_database_engine(url)
        try:
            refused = pytest.raises(DatabaseInUseError, match="is in use by another")
            with embedded_claim(one), refused, embedded_claim(two):
                pass
            with embedded_claim(two):
                pass
        finally:
            one.dispose()
            two.dispose()
