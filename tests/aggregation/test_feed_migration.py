"""Migration 0007 on a catalog that already has entities, on PostgreSQL and SQLite: each enters
the change feed once, ``needs_emit`` goes, and the downgrade restores the previous schema."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from migrations.runner import alembic_config
from models.database import create_database_engine
from models.sql_repository import SqlRepository
from tests.support.databases import scratch_postgres_database

ROWS = [("component:default/b", "1" * 64), ("component:default/a", "2" * 64)]


@pytest.fixture(params=["postgresql", "sqlite"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = create_database_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    with scratch_postgres_database("ingest_feed_migration") as url:
        engine = create_database_engine(url)
        yield engine
        engine.dispose()


def migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()


def test_existing_entities_enter_the_feed_once_and_the_downgrade_restores_needs_emit(
    fresh: sa.Engine,
) -> None:
    migrate(fresh, "0006")
    with fresh.begin() as connection:
        for ref, content_hash in ROWS:
            body = '{"kind": "Component", "metadata": {"name": "x"}}'
            connection.execute(
                sa.text(
                    "INSERT INTO source_entities (source, ref, kind, namespace, name, body, "
                    "content_hash, priority, needs_emit, created_at, updated_at) VALUES "
                    "('s', :ref, 'Component', 'default', 'x', :body, :hash, 0, true, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"ref": ref, "body": body, "hash": content_hash},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO catalog_entities (ref, source, content_hash, priority, "
                    "updated_at) VALUES (:ref, 's', :hash, 0, CURRENT_TIMESTAMP)"
                ),
                {"ref": ref, "hash": content_hash},
            )
    migrate(fresh, "0007")
    batch = SqlRepository(fresh).read_feed(0)
    assert [(c.position, c.ref) for c in batch.changes] == [
        (1, "component:default/a"),
        (2, "component:default/b"),
    ]
    columns = {column["name"] for column in sa.inspect(fresh).get_columns("source_entities")}
    assert "needs_emit" not in columns and "merge_replace" in columns
    migrate(fresh, "0006", down=True)
    inspector = sa.inspect(fresh)
    assert "needs_emit" in {column["name"] for column in inspector.get_columns("source_entities")}
    assert "change_feed" not in inspector.get_table_names()
