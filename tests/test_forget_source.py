"""Renaming a provider: status names the old name's records, ``ingest forget`` removes them."""

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, select

from catalog_ingest.app.composition import build_runtime
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.coordination.redis_lock import RedisProviderLock
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.entity_preparation import entity_ref
from models.catalog_reads import iter_entities
from models.tables import catalog_entities
from tests.support.cli_runner import run_ingest
from tests.support.engine_harness import complete_pass


@pytest.fixture
def redis_env(redis_url: str) -> dict[str, str]:
    """The environment beats the file: pin the command's Redis to the test's own."""
    return {"REDIS_URL": redis_url}


def _configure(path: Path, db: Engine, name: str, entities: int, seed: int) -> Path:
    url = db.url.render_as_string(hide_password=False)
    path.write_text(
        f"database_url: '{url}'\n"
        f"providers: [{{name: {name}, type: synthetic, "
        f"settings: {{entities: {entities}, seed: {seed}, page_size: 100}}}}]\n"
    )
    return path


def _complete_pass(config: Path, provider: str) -> None:
    """One full pass of ``provider`` through the engine, on a clock that skips every wait."""
    clock = ManualClock()
    runtime = build_runtime(load_config(config), clock=clock)
    try:
        complete_pass(runtime.engine, clock, provider)
    finally:
        runtime.close()


def _rename(tmp_path: Path, db: Engine, *, new_seed: int) -> Path:
    """syn-a (100 entities) ingested, then renamed syn-b (50 entities) and ingested."""
    config = _configure(tmp_path / "ingest.yaml", db, "syn-a", 100, seed=1)
    _complete_pass(config, "syn-a")
    _configure(config, db, "syn-b", 50, seed=new_seed)
    _complete_pass(config, "syn-b")
    return config


def _catalog(db: Engine) -> dict[str, str]:
    with db.connect() as connection:
        rows = connection.execute(select(catalog_entities.c.ref, catalog_entities.c.source))
        return {ref: source for ref, source in rows}


def _source_refs(db: Engine, source: str) -> set[str]:
    return {_ref(entity) for entity in iter_entities(db, source)}


def _ref(entity: dict[str, Any]) -> str:
    metadata = entity["metadata"]
    return entity_ref(entity["kind"], metadata.get("namespace", "default"), metadata["name"])


def test_a_renamed_providers_records_are_reported_by_status_and_removed_by_forget(
    tmp_path: Path, db: Engine, redis_env: dict[str, str]
) -> None:
    config = _rename(tmp_path, db, new_seed=2)
    args = ("--config", str(config))
    new_refs = _source_refs(db, "syn-b")
    assert len(new_refs) == 50
    assert len(_catalog(db)) == 150  # the old name's 100 records still in the catalog

    table = run_ingest("status", *args)
    assert table.returncode == 0, table.stderr
    assert (
        "orphaned source syn-a: 100 records (no configured provider); "
        "remove them with: ingest forget syn-a"
    ) in table.stdout
    rows = json.loads(run_ingest("status", "--json", *args).stdout)
    assert {row["provider"]: row.get("orphaned_records") for row in rows} == {
        "syn-a": 100,
        "syn-b": None,
    }

    dry_run = run_ingest("forget", "syn-a", *args)
    assert dry_run.returncode == 2, dry_run.stderr
    assert dry_run.stdout.strip() == (
        "would remove 100 records of source syn-a; run again with --yes"
    )
    assert len(_catalog(db)) == 150

    configured = run_ingest("forget", "syn-b", "--yes", *args, env=redis_env)
    assert configured.returncode == 2
    assert configured.stderr.strip() == (
        "error: syn-b is a configured provider; to drop its state use `ingest reset`"
    )
    unknown = run_ingest("forget", "syn-z", "--yes", *args, env=redis_env)
    assert unknown.returncode == 2
    assert len(unknown.stderr.strip().splitlines()) == 1

    forgotten = run_ingest("forget", "syn-a", "--yes", *args, env=redis_env)
    assert forgotten.returncode == 0, forgotten.stderr
    assert "removed 100 record(s)" in forgotten.stdout
    assert {_ref(entity) for entity in iter_entities(db)} == new_refs
    assert set(_catalog(db).values()) == {"syn-b"}

    after = run_ingest("status", "--json", *args)
    assert [row["provider"] for row in json.loads(after.stdout)] == ["syn-b"]
    assert "orphaned" not in run_ingest("status", *args).stdout


def test_after_forget_a_ref_both_sources_provided_points_at_the_configured_ones_record(
    tmp_path: Path, db: Engine, redis_env: dict[str, str]
) -> None:
    config = _rename(tmp_path, db, new_seed=1)  # same seed: syn-b's 50 refs are syn-a's too
    shared = _source_refs(db, "syn-b")
    assert len(shared) == 50
    before = _catalog(db)
    assert {before[ref] for ref in shared} == {"syn-a"}  # the lower source name wins a tie

    forgotten = run_ingest("forget", "syn-a", "--yes", "--config", str(config), env=redis_env)

    assert forgotten.returncode == 0, forgotten.stderr
    assert _catalog(db) == dict.fromkeys(shared, "syn-b")
    assert {_ref(entity) for entity in iter_entities(db)} == shared


def test_forget_refuses_while_a_worker_holds_the_sources_lock_and_deletes_nothing(
    tmp_path: Path, db: Engine, redis_env: dict[str, str], redis_client: redis.Redis
) -> None:
    """A stale worker (or one that still has the old name configured) runs a burst of syn-a:
    it holds syn-a's provider lock, the one a burst takes. Forget must not delete under it."""
    config = _rename(tmp_path, db, new_seed=2)
    args = ("--config", str(config))
    before = _catalog(db)
    assert len(before) == 150

    lease = RedisProviderLock(redis_client).try_acquire("syn-a", ttl=60)
    assert lease is not None
    try:
        refused = run_ingest("forget", "syn-a", "--yes", *args, env=redis_env)
        assert refused.returncode == 1, (refused.stdout, refused.stderr)  # as a busy tick
        assert refused.stderr.strip().splitlines() == [
            "error: source syn-a is busy: a worker holds its provider lock (a burst under that "
            "name still runs); nothing was removed, try again after it"
        ]
        assert refused.stdout == ""
        assert _catalog(db) == before
        assert len(_source_refs(db, "syn-a")) == 100
        assert lease.held()  # forget did not take it away
    finally:
        lease.release()

    forgotten = run_ingest("forget", "syn-a", "--yes", *args, env=redis_env)
    assert forgotten.returncode == 0, forgotten.stderr
    assert "removed 100 record(s)" in forgotten.stdout
    assert set(_catalog(db).values()) == {"syn-b"}
    # forget released the lock: a burst of that name could take it again
    again = RedisProviderLock(redis_client).try_acquire("syn-a", ttl=60)
    assert again is not None
    again.release()


def test_forget_says_in_one_line_when_redis_cannot_be_reached(tmp_path: Path, db: Engine) -> None:
    config = _rename(tmp_path, db, new_seed=2)
    unreachable = {"REDIS_URL": "redis://127.0.0.1:1/0"}

    result = run_ingest("forget", "syn-a", "--yes", "--config", str(config), env=unreachable)

    assert result.returncode == 1, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot reach Redis: ")
    assert len(_catalog(db)) == 150
