"""A process frozen inside a transaction (SIGSTOP, a stuck VM) must not stall the provider: its
session ends after the idle-in-transaction timeout and the row lock it held is released."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import DBAPIError

from models.database import create_database_engine
from models.sql_repository import SqlRepository
from models.tables import ingestions
from tests.support.databases import migrated_engine, scratch_postgres_database


@pytest.fixture
def database_url() -> Iterator[str]:
    with scratch_postgres_database("ingest_frozen") as url:
        migrated_engine(url).dispose()
        yield url


def test_a_lock_left_by_a_frozen_session_is_released_after_the_timeout(database_url: str) -> None:
    frozen_engine = create_database_engine(database_url, idle_in_transaction_ms=1000)
    worker_engine: Engine = create_database_engine(database_url)
    try:
        repository = SqlRepository(worker_engine)
        ingestion = repository.open_ingestion("synth", datetime.now(UTC))
        frozen = frozen_engine.connect()
        frozen.begin()
        frozen.execute(
            update(ingestions).where(ingestions.c.id == ingestion.id).values(attempts=7)
        )  # holds the row lock, then stays idle, as a SIGSTOPped worker would

        took: list[float] = []

        def take_fence() -> None:
            started = time.monotonic()
            repository.take_fence(ingestion.id)
            took.append(time.monotonic() - started)

        other = threading.Thread(target=take_fence)
        other.start()
        other.join(30)
        assert took, "the other worker's fence update is still waiting on the frozen session"
        assert 0.5 < took[0] < 10
        with pytest.raises(DBAPIError):  # the frozen session was ended, its update undone
            frozen.execute(text("SELECT 1"))
        assert repository.get_open("synth").attempts == 0  # type: ignore[union-attr]
    finally:
        frozen_engine.dispose()
        worker_engine.dispose()


def test_every_engine_sets_the_timeout(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            value = connection.execute(text("SHOW idle_in_transaction_session_timeout")).scalar()
        assert value == "1min"
    finally:
        engine.dispose()
