"""Pushing entities into a ``push`` source, and deleting them: the core the command line
(``ingest push``) and the HTTP service call.

A push is applied like an event (:mod:`catalog_ingest.engine.event_deltas`): under the
source's lock, taken within ``wait`` seconds, and a fresh fence of its open ingestion; every
entity is validated and an invalid one is rejected alone (counted in ``rejected``). PUT
semantics: the given entities are upserted, the source's other records stay.
"""

from collections.abc import Sequence
from typing import Any

from catalog_ingest.contracts.errors import UserError
from catalog_ingest.contracts.locking import ProviderLock
from catalog_ingest.engine.event_delivery import deliver_event
from catalog_ingest.engine.event_deltas import EventOutcome
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.sources.push_source import PUSH_TOPIC, PushSourceProvider

MAX_PUSH_BYTES = 16 * 1024 * 1024
"""The largest document of entities one push may send (command line and HTTP service)."""


class NotAPushSourceError(UserError):
    """Entities were pushed to a provider or source that is not of type ``push``."""


def push_source(engine: Engine, source: str) -> PushSourceProvider:
    """The push source called ``source``; a one-line user error for anything else."""
    provider = engine.binding(source).provider
    if not isinstance(provider, PushSourceProvider):
        raise NotAPushSourceError(
            f"{source} is not a push source: only sources of type push take pushed entities"
        )
    return provider


def push_entities(
    engine: Engine,
    lock: ProviderLock,
    source: str,
    entities: Sequence[Any],
    *,
    ttl: float,
    wait: float,
) -> EventOutcome:
    """Upsert ``entities`` into the push source ``source``'s records."""
    push_source(engine, source)
    payload = {"entities": list(entities)}
    return deliver_event(engine, lock, source, PUSH_TOPIC, payload, ttl=ttl, wait=wait)


def delete_pushed(
    engine: Engine,
    lock: ProviderLock,
    source: str,
    refs: Sequence[str],
    *,
    ttl: float,
    wait: float,
) -> EventOutcome:
    """Remove ``refs`` (``kind:namespace/name``, short forms allowed) from ``source``'s
    records; another source's record of a ref takes over in the catalog."""
    push_source(engine, source)
    payload = {"delete": list(refs)}
    return deliver_event(engine, lock, source, PUSH_TOPIC, payload, ttl=ttl, wait=wait)


def push_summary(outcome: EventOutcome) -> dict[str, Any]:
    """What a push did, as JSON: entities upserted (written or confirmed unchanged), records
    removed, and entities or refs rejected by Backstage's rules."""
    return {
        "source": outcome.provider,
        "upserted": outcome.added,
        "removed": outcome.removed,
        "rejected": outcome.rejected,
    }
