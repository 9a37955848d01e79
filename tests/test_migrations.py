"""Migrations apply from `ingest migrate` and are safe when several processes start at once."""

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from migrations.runner import current_revision, head_revision, upgrade
from models.database import create_database_engine
from tests.support.databases import scratch_postgres_database

EXPECTED_TABLES = {
    "ingestions",
    "ingestion_marks",
    "ingestion_mark_entities",
    "source_entities",
    "catalog_entities",
    "alembic_version",
}


def _migrate_concurrently(url: str, processes: int = 4) -> list[subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-m", "cli", "migrate", "--database-url", url]
    running = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    results = []
    for process in running:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def _assert_at_head(url: str) -> None:
    engine = create_database_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_concurrent_migrate_processes_all_succeed_on_postgres() -> None:
    with scratch_postgres_database("ingest_migrate") as url:
        results = _migrate_concurrently(url)
        for result in results:
            assert result.returncode == 0, result.stderr
            assert f"database at revision {head_revision()}" in result.stdout
        _assert_at_head(url)


def test_concurrent_migrate_processes_all_succeed_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    for result in _migrate_concurrently(url):
        assert result.returncode == 0, result.stderr
    _assert_at_head(url)


def test_upgrading_an_up_to_date_database_changes_nothing(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    try:
        first = upgrade(engine)
        second = upgrade(engine)
        assert first == second == current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def _schema_differences(url: str) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.tables import Base

    engine = create_database_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_models_schema_on_postgres() -> None:
    with scratch_postgres_database("ingest_schema") as url:
        assert _schema_differences(url) == []


def test_the_migrations_build_exactly_the_models_schema_on_sqlite(tmp_path: Path) -> None:
    assert _schema_differences(f"sqlite:///{tmp_path / 'schema.db'}") == []
