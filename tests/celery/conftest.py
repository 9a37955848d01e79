"""Fixtures of the distributed tests: a fresh PostgreSQL database and Redis db per test."""

import itertools
import os
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine

from tests.support.celery_deployment import fresh_redis_url
from tests.support.databases import migrated_engine, scratch_postgres_database

_redis_indexes = itertools.cycle(range(1, 16))
_offset = os.getpid() % 15


@pytest.fixture
def redis_url() -> str:
    return fresh_redis_url(1 + (next(_redis_indexes) + _offset) % 15)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test's own (flushed) Redis database."""
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def database_url() -> Iterator[str]:
    with scratch_postgres_database("ingest_celery") as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()
