"""Fixtures of the distributed tests: a fresh PostgreSQL database per test (their Redis
database: ``redis_url`` of ``tests/conftest.py``)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.support.databases import migrated_engine, scratch_postgres_database


@pytest.fixture
def database_url() -> Iterator[str]:
    with scratch_postgres_database("ingest_celery") as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()
