"""A burst that lost its lock writes nothing more; the next holder resumes from the last page.

Runs the engine in-process against real Redis (the provider lock) and real PostgreSQL.
"""

import time
from typing import Any

import pytest
import redis
from sqlalchemy import Engine

from catalog_ingest.contracts.provider import JSONValue, Page
from catalog_ingest.contracts.storage import IngestionRepository
from catalog_ingest.coordination import redis_keys as keys
from catalog_ingest.coordination.redis_lock import RedisLease, RedisProviderLock
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine as IngestEngine
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.celery_deployment import DeploymentReader

NAME = "synth"
PAGES = 12


class InterruptingProvider(SyntheticProvider):
    """Calls ``interrupt`` while fetching page ``at`` (1-based), and records every cursor."""

    def __init__(self, source: SyntheticSource, at: int | None, interrupt: Any) -> None:
        super().__init__(NAME, source, page_size=50)
        self.at = at
        self.interrupt = interrupt
        self.calls = 0
        self.cursors: list[JSONValue] = []

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        self.calls += 1
        self.cursors.append(cursor)
        if self.calls == self.at:
            self.interrupt()
        return super().next(context, cursor)


def _engine(repository: IngestionRepository, provider: InterruptingProvider) -> IngestEngine:
    binding = ProviderBinding(provider, ProviderOptions(burst_length=300))
    return IngestEngine(repository, {NAME: binding}, ManualClock())


def _finish_with_a_new_holder(
    repository: SqlRepository, lock: RedisProviderLock, source: SyntheticSource, reader: Any
) -> None:
    """Another worker takes the lock and completes the pass from the last committed page."""
    committed = reader.marks()
    successor = InterruptingProvider(source, None, None)
    lease = lock.try_acquire(NAME, ttl=30)
    assert lease is not None
    try:
        outcome = _engine(repository, successor).tick(NAME, lease=lease)
    finally:
        lease.release()
    assert outcome.action is TickAction.PASS_COMPLETED
    assert successor.cursors[0] == committed[-1].cursor
    assert [m.sequence for m in reader.marks()] == list(range(1, PAGES + 1))
    assert reader.catalog_refs() == {source.ref_of(i) for i in range(source.size)}


def test_a_burst_whose_lock_key_is_deleted_stops_before_writing_the_next_page(
    database: Engine, redis_client: redis.Redis
) -> None:
    repository, lock = SqlRepository(database), RedisProviderLock(redis_client)
    source = SyntheticSource(size=PAGES * 50)
    provider = InterruptingProvider(
        source, 5, lambda: redis_client.delete(keys.provider_lock(NAME))
    )
    lease = lock.try_acquire(NAME, ttl=30)
    assert lease is not None
    outcome = _engine(repository, provider).tick(NAME, lease=lease)
    lease.release()

    reader = DeploymentReader(repository, NAME)
    assert outcome.action is TickAction.FENCED
    # The lock vanished while page 5 was fetched, ahead, while page 4 committed: page 4 is
    # written if its fence check came first, page 5 never is, and nothing is half-written.
    assert outcome.pages in (3, 4)
    assert [m.sequence for m in reader.marks()] == list(range(1, outcome.pages + 1))
    assert len(reader.catalog_refs()) == outcome.pages * 50
    _finish_with_a_new_holder(repository, lock, source, reader)


def test_a_paused_holder_whose_lock_expired_writes_nothing_after_a_takeover(
    database: Engine, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder stalls (no renewals) past its TTL; another worker takes lock and fence."""
    repository, lock = SqlRepository(database), RedisProviderLock(redis_client)
    monkeypatch.setattr(RedisLease, "_renew", lambda self: None)
    source = SyntheticSource(size=PAGES * 50)

    def stall_until_taken_over() -> None:
        key = keys.provider_lock(NAME)
        while redis_client.exists(key):  # the TTL runs out while this holder is "paused"
            time.sleep(0.05)
        usurper = lock.try_acquire(NAME, ttl=30)
        assert usurper is not None
        open_ingestion = repository.get_open(NAME)
        assert open_ingestion is not None
        repository.take_fence(open_ingestion.id)
        usurper.release()

    provider = InterruptingProvider(source, 3, stall_until_taken_over)
    lease = lock.try_acquire(NAME, ttl=1)
    assert lease is not None
    outcome = _engine(repository, provider).tick(NAME, lease=lease)
    lease.release()

    reader = DeploymentReader(repository, NAME)
    assert outcome.action is TickAction.FENCED
    # Page 3 is read ahead while page 2 commits; page 2 is lost too if the 1 s lease ran out
    # before its write (a very slow machine).
    assert [m.sequence for m in reader.marks()] in ([1], [1, 2])
    _finish_with_a_new_holder(repository, lock, source, reader)


def test_the_fence_alone_refuses_a_superseded_writer_that_never_checks_its_lock(
    database: Engine, redis_client: redis.Redis
) -> None:
    """Without any lease check, a newer fence still shuts the old burst out of the database."""
    repository, lock = SqlRepository(database), RedisProviderLock(redis_client)
    source = SyntheticSource(size=PAGES * 50)

    def another_holder_takes_the_fence() -> None:
        open_ingestion = repository.get_open(NAME)
        assert open_ingestion is not None
        repository.take_fence(open_ingestion.id)

    provider = InterruptingProvider(source, 6, another_holder_takes_the_fence)
    outcome = _engine(repository, provider).tick(NAME)  # no lease at all

    reader = DeploymentReader(repository, NAME)
    assert outcome.action is TickAction.FENCED
    # Page 6 is read ahead while page 5 commits: the fence may be taken before page 5's write.
    assert [m.sequence for m in reader.marks()] in ([1, 2, 3, 4], [1, 2, 3, 4, 5])
    _finish_with_a_new_holder(repository, lock, source, reader)
