"""``ingest tick P`` takes the provider's Redis lock like a burst, and refuses while it is held.

Real Redis (the lock) and real PostgreSQL; the command runs in a subprocess, as a user runs it.
"""

from pathlib import Path

import redis
from sqlalchemy import Engine

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.coordination.redis_lock import RedisProviderLock
from tests.support.celery_deployment import Deployment, write_config
from tests.support.cli_runner import run_ingest

NAME = "synth"
PROVIDERS = [
    {
        "name": NAME,
        "type": "synthetic",
        "options": {"burst_length": 1, "chunk_size": 50},
        "settings": {"entities": 2000, "page_size": 50, "page_delay_ms": 100},  # 4s a pass
    }
]


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment would beat the file: pin both to the test's own servers."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url}


def _tick(config: Path, database_url: str, redis_url: str) -> tuple[int, str, str]:
    result = run_ingest(
        "tick", NAME, "--config", str(config), env=_env(database_url, redis_url), timeout=120
    )
    return result.returncode, result.stdout, result.stderr


def test_tick_refuses_while_a_worker_holds_the_lock_and_runs_once_it_is_released(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    config = write_config(tmp_path / "ingest.yaml", database_url, redis_url, PROVIDERS)
    code, _, stderr = _tick(config, database_url, redis_url)  # opens the ingestion: a fence
    assert code == 0, stderr
    reader = Deployment(config, load_config(config), database)
    trigger = run_ingest(
        "trigger", NAME, "--direct", "--config", str(config), env=_env(database_url, redis_url)
    )
    assert trigger.returncode == 0, trigger.stderr  # the next step is due now
    before = reader.open_ingestion(NAME)
    refs = reader.catalog_refs()

    client = redis.Redis.from_url(redis_url)
    lease = RedisProviderLock(client).try_acquire(NAME, ttl=60)
    assert lease is not None
    try:
        code, stdout, stderr = _tick(config, database_url, redis_url)
        assert code == 1, (stdout, stderr)
        assert stderr.strip().splitlines() == [
            f"error: provider {NAME} is busy: a worker holds its lock; try again after the burst"
        ]
        after = reader.open_ingestion(NAME)
        assert after.fence == before.fence
        assert after.status == before.status
        assert reader.catalog_refs() == refs
    finally:
        lease.release()
        client.close()

    code, stdout, stderr = _tick(config, database_url, redis_url)
    assert code == 0, stderr
    assert stdout.startswith(f"{NAME}: ")
    resumed = reader.open_ingestion(NAME)
    assert (resumed.id, resumed.fence) == (before.id, before.fence + 1)


def test_tick_says_in_one_line_when_redis_cannot_be_reached(
    tmp_path: Path, database_url: str, database: Engine
) -> None:
    unreachable = "redis://127.0.0.1:1/0"
    config = write_config(tmp_path / "ingest.yaml", database_url, unreachable, PROVIDERS)
    code, stdout, stderr = _tick(config, database_url, unreachable)
    assert code == 1, (stdout, stderr)
    [line] = stderr.strip().splitlines()
    assert line.startswith("error: cannot reach Redis: ")
