"""Shared fixtures: storage and engine tests run against real PostgreSQL and SQLite, and
tests that need Redis get a flushed database of the real server of their own."""

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from catalog_ingest.engine.clock import ManualClock
from models.sql_repository import SqlRepository
from tests.support.celery_deployment import fresh_redis_url
from tests.support.databases import migrated_engine, scratch_postgres_database, truncate_all

_redis_indexes = itertools.cycle(range(1, 16))
_offset = os.getpid() % 15
"""Databases 1-15 in turn (0 is left to the machine's other users), shifted per process."""


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


@pytest.fixture
def redis_url() -> str:
    """A flushed Redis database of the test's own (see ``fresh_redis_url``)."""
    return fresh_redis_url(1 + (next(_redis_indexes) + _offset) % 15)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test's own (flushed) Redis database."""
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()
