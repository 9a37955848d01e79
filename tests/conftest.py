"""Shared fixtures: storage and engine tests run against real PostgreSQL and SQLite."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from catalog_ingest.engine.clock import ManualClock
from models.sql_repository import SqlRepository
from tests.support.databases import migrated_engine, scratch_postgres_database, truncate_all


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = migrated_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind."""
    if request.param == "postgresql":
        engine: Engine = request.getfixturevalue("postgres_engine")
        truncate_all(engine)
        yield engine
        return
    engine = migrated_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def repository(db: Engine) -> SqlRepository:
    return SqlRepository(db)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
