"""Delivering an event: wait a bounded time for the provider's lock, then apply it.

A burst holds the lock for up to ``burst_length`` plus one page, so an event that finds it held
waits for the burst's end instead of being dropped; it polls, because the lock only offers
``try_acquire``. A wait that runs out raises :class:`ProviderBusyError`: nothing was written,
and the caller delivers the event again later (the Celery task retries with a countdown).
"""

import time
from collections.abc import Callable, Mapping
from typing import Any

from catalog_ingest.contracts.locking import Lease, ProviderBusyError, ProviderLock
from catalog_ingest.engine.event_deltas import EventOutcome, check_event
from catalog_ingest.engine.state_table import Engine

POLL_SECONDS = 0.05
"""How often a waiting event tries the lock: a burst that ends is followed within this."""


def acquire_within(
    lock: ProviderLock,
    provider: str,
    ttl: float,
    wait: float,
    *,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Lease | None:
    """The provider's lease, taken within ``wait`` seconds; ``None`` when it stayed held."""
    deadline = monotonic() + wait
    while True:
        lease = lock.try_acquire(provider, ttl)
        if lease is not None:
            return lease
        remaining = deadline - monotonic()
        if remaining <= 0:
            return None
        sleep(min(poll, remaining))


def deliver_event(
    engine: Engine,
    lock: ProviderLock,
    provider: str,
    topic: str,
    payload: Mapping[str, Any],
    *,
    ttl: float,
    wait: float,
    **waiting: Any,
) -> EventOutcome:
    """Apply the event under the provider's lock (taken within ``wait`` seconds, held with
    ``ttl``); an unknown provider or a malformed event fails before any wait."""
    engine.binding(provider)
    check_event(topic, payload)
    lease = acquire_within(lock, provider, ttl, wait, **waiting)
    if lease is None:
        raise ProviderBusyError(
            f"provider {provider} stayed locked for {wait:g}s; the event was not applied"
        )
    try:
        return engine.apply_event(provider, topic, payload, lease=lease)
    finally:
        lease.release()
