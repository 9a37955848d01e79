"""The provider lock's renewal thread: a short-TTL lock outlives a long burst, and a lock taken
away is noticed within one renewal period.

Real Redis. The lock is created with ``thread_local=False`` and renewed every TTL/3 from its own
thread; the burst runs the engine in-process (as in test_fencing.py) over a slow synthetic
provider, so the holder is busy with pages while the lease renews itself in the background.
"""

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from sqlalchemy import Engine

from catalog_ingest.contracts.locking import Lease
from catalog_ingest.contracts.provider import JSONValue, Page
from catalog_ingest.coordination import redis_keys as keys
from catalog_ingest.coordination.redis_lock import RedisProviderLock
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine as IngestEngine
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.celery_deployment import DeploymentReader, wait_for

NAME = "synth"
KEY = keys.provider_lock(NAME)
TTL = 1.5
RENEWAL_PERIOD = TTL / 3
SLACK = 0.25
"""Seconds a renewal may run late on a loaded machine."""
INTRUDER = b"another holder's token"


class ObservingProvider(SyntheticProvider):
    """At every page: the lock key's token and remaining TTL in Redis, and what the lease says."""

    def __init__(self, source: SyntheticSource, client: redis.Redis, lease: Lease) -> None:
        super().__init__(NAME, source, page_size=25, page_delay=0.25)
        self.client = client
        self.lease = lease
        self.seen: list[tuple[Any, int, bool]] = []

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        page = super().next(context, cursor)
        self.seen.append((self.client.get(KEY), self.client.pttl(KEY), self.lease.held()))
        return page


def acquire(client: redis.Redis, ttl: float) -> tuple[Lease, bytes]:
    """A fresh lease on the provider lock and the token it put in Redis."""
    lease = RedisProviderLock(client).try_acquire(NAME, ttl=ttl)
    assert lease is not None
    token = client.get(KEY)
    assert isinstance(token, bytes)
    return lease, token


def test_a_one_second_lock_stays_ours_through_a_four_second_burst_renewed_by_its_thread(
    database: Engine, redis_client: redis.Redis
) -> None:
    repository, source = SqlRepository(database), SyntheticSource(size=16 * 25)
    lease, token = acquire(redis_client, ttl=1.0)
    provider = ObservingProvider(source, redis_client, lease)
    binding = ProviderBinding(provider, ProviderOptions(burst_length=300))
    engine = IngestEngine(repository, {NAME: binding}, ManualClock())  # time stands still:
    # the burst ends with the pass, never by its length
    started = time.monotonic()
    try:
        outcome = engine.tick(NAME, lease=lease)
        held_for = time.monotonic() - started
        after = (redis_client.get(KEY), lease.held())
    finally:
        lease.release()

    assert outcome.action is TickAction.PASS_COMPLETED, outcome
    assert held_for >= 3.5, "the burst did not outlast several TTLs"
    assert [(seen_token, held) for seen_token, _, held in provider.seen] == [(token, True)] * 16
    assert all(remaining > 0 for _, remaining, _ in provider.seen), "the key lost its TTL"
    assert after == (token, True)
    assert not redis_client.exists(KEY), "release left the lock behind"
    reader = DeploymentReader(repository, NAME)
    assert reader.catalog_refs() == {source.ref_of(i) for i in range(source.size)}


def delete_the_key(client: redis.Redis) -> None:
    client.delete(KEY)


def replace_the_token(client: redis.Redis) -> None:
    client.set(KEY, INTRUDER, px=10_000)


TAKEN_AWAY = pytest.mark.parametrize(
    "take_away", [delete_the_key, replace_the_token], ids=["key-deleted", "token-replaced"]
)


@TAKEN_AWAY
def test_the_renewal_thread_marks_the_lease_lost_within_one_renewal_period(
    redis_client: redis.Redis, take_away: Callable[[redis.Redis], None]
) -> None:
    """The lease is not asked until our token is back in Redis: only the renewal thread can
    have noticed that the lock was gone meanwhile."""
    lease, token = acquire(redis_client, ttl=TTL)
    try:
        take_away(redis_client)
        time.sleep(RENEWAL_PERIOD + SLACK)
        redis_client.set(KEY, token, px=int(TTL * 1000))

        assert not lease.held(), "the renewal thread did not notice the lock was gone"
        wait_for(
            lambda: not redis_client.exists(KEY),
            TTL + 2 * SLACK,
            "the restored key to expire: a lost lease must not renew it",
            every=0.05,
        )
    finally:
        lease.release()


@TAKEN_AWAY
def test_a_lease_whose_lock_was_taken_away_says_so_at_once_and_never_touches_the_key_again(
    redis_client: redis.Redis, take_away: Callable[[redis.Redis], None]
) -> None:
    lease, _ = acquire(redis_client, ttl=TTL)
    take_away(redis_client)
    expected = redis_client.get(KEY)  # None, or the other holder's token

    assert not lease.held()
    time.sleep(2 * RENEWAL_PERIOD + SLACK)
    lease.release()

    assert redis_client.get(KEY) == expected, "the lease recreated or released another's key"
    if expected is not None:
        remaining = redis_client.pttl(KEY)
        assert remaining > 10_000 - 2_000, f"the lease reset the other holder's TTL ({remaining})"
