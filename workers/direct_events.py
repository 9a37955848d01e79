"""Applying an event in the caller's own process, as a worker would (``ingest event --direct``,
the HTTP ingress without a broker): under the provider's lock, held and waited for as long as
one of its bursts may hold it."""

from collections.abc import Mapping
from typing import Any

from catalog_ingest.contracts.locking import ProviderLock
from catalog_ingest.engine.event_delivery import deliver_event
from catalog_ingest.engine.event_deltas import EventOutcome
from catalog_ingest.engine.state_table import Engine
from workers.limits import BurstLimits
from workers.worker_settings import WorkerSettings


def deliver_now(
    engine: Engine, lock: ProviderLock, provider: str, topic: str, payload: Mapping[str, Any]
) -> EventOutcome:
    """Apply the event to ``provider`` now; raises what :func:`deliver_event` raises
    (``ProviderBusyError`` when a burst kept the lock for the whole wait)."""
    limits = BurstLimits.for_options(
        engine.binding(provider).options, WorkerSettings().time_limit_margin
    )
    return deliver_event(
        engine, lock, provider, topic, payload, ttl=limits.lock_ttl, wait=limits.lock_ttl
    )
