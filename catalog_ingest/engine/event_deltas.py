"""Upstream events: a provider turns one into a delta, applied under the provider's fence.

The caller holds the provider's lock (``lease``), as a burst does, so an event runs between two
steps of the provider and never inside one. The provider fetches what the event names while
the lock is held, so what the event writes is at least as new as anything a burst wrote
before it, and the next burst lists after it. Applying takes a fresh fence of the open
ingestion: a holder that lost its lock without noticing (a paused worker) writes nothing more,
while the next burst takes its own fence when it starts, so no live step is refused.

Added entities are upserted and marked into the open ingestion, so that pass's sweep keeps
them; removed refs leave the catalog at once (the provider's own records only).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from catalog_ingest.contracts.errors import ContractViolationError, InvalidEventError, UserError
from catalog_ingest.contracts.locking import Lease, ensure_held
from catalog_ingest.contracts.provider import Delta, EventHandler
from catalog_ingest.contracts.states import NextAction
from catalog_ingest.contracts.storage import IngestionRepository, PreparedEntity
from catalog_ingest.engine import event_log
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import Clock
from catalog_ingest.engine.entity_preparation import (
    InvalidEntityError,
    parse_ref,
    prepare_page,
)
from catalog_ingest.engine.provided_apis import full_ref, provided_apis

log = event_log.get_logger(__name__)


class EventStatus(StrEnum):
    APPLIED = "applied"
    """The provider's delta was written (possibly an empty one)."""
    IGNORED = "ignored"
    """The provider does not take the topic, or chose not to act on the event."""


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What delivering one event did."""

    provider: str
    topic: str
    status: EventStatus
    added: int = 0
    """Entities written (or confirmed unchanged) and marked into the open ingestion."""
    removed: int = 0
    """The provider's records deleted from the catalog."""
    rejected: int = 0
    """Entities or refs of the delta refused by Backstage's naming rules."""
    ingestion_id: str | None = None
    note: str | None = None

    def summary(self) -> dict[str, Any]:
        """A small JSON summary (task results, command output)."""
        data: dict[str, Any] = {
            "provider": self.provider,
            "topic": self.topic,
            "status": str(self.status),
            "added": self.added,
            "removed": self.removed,
            "ignored": self.status is EventStatus.IGNORED,
        }
        if self.rejected:
            data["rejected"] = self.rejected
        if self.note:
            data["note"] = self.note
        return data


def check_event(topic: Any, payload: Any) -> Mapping[str, Any]:
    """The payload, when the topic is a name and the payload a JSON object; else
    :class:`InvalidEventError`."""
    if not isinstance(topic, str) or not topic.strip():
        raise InvalidEventError(f"an event topic must be a non-empty string, got {topic!r}")
    if not isinstance(payload, Mapping):
        raise InvalidEventError(
            f"an event payload must be a JSON object, got {type(payload).__name__}"
        )
    if not all(isinstance(key, str) for key in payload):
        raise InvalidEventError("an event payload's keys must be strings")
    return payload


def event_topics(binding: ProviderBinding) -> list[str]:
    """The topics the provider takes events on (none when it handles no events)."""
    provider = binding.provider
    return list(provider.supports_event_topics()) if isinstance(provider, EventHandler) else []


def check_subscribed(binding: ProviderBinding, topic: str) -> None:
    """:class:`UserError` unless the provider takes events on ``topic``."""
    topics = event_topics(binding)
    if topic not in topics:
        takes = ", ".join(topics) if topics else "none"
        raise UserError(f"provider {binding.name} takes no events on topic {topic!r} ({takes})")


def subscribers(bindings: Iterable[ProviderBinding], topic: str) -> list[str]:
    """The names of the providers taking events on ``topic``, sorted (the HTTP ingress sends
    an event to each of them)."""
    return sorted(binding.name for binding in bindings if topic in event_topics(binding))


def apply_event(
    repository: IngestionRepository,
    binding: ProviderBinding,
    topic: str,
    payload: Mapping[str, Any],
    clock: Clock,
    lease: Lease | None = None,
) -> EventOutcome:
    """Deliver an event to the provider and apply its delta under a fresh fence.

    Raises :class:`InvalidEventError` for a payload the provider refuses, the provider's
    upstream errors (nothing written: the event can be delivered again), and
    :class:`~catalog_ingest.contracts.errors.StepStoppedError` when the lock or the fence was
    lost before the write (nothing written either).
    """
    check_event(topic, payload)
    provider = binding.provider
    if not isinstance(provider, EventHandler) or topic not in event_topics(binding):
        note = f"provider {binding.name} takes no events on topic {topic!r}"
        return EventOutcome(binding.name, topic, EventStatus.IGNORED, note=note)
    result = provider.on_event(topic, payload)
    if not isinstance(result, Delta):
        if result != "ignored":
            raise ContractViolationError(
                f"provider {binding.name}: on_event returned {type(result).__name__}, "
                "expected a Delta or 'ignored'"
            )
        return EventOutcome(binding.name, topic, EventStatus.IGNORED)
    return _apply(repository, binding, topic, result, clock, lease)


def _apply(
    repository: IngestionRepository,
    binding: ProviderBinding,
    topic: str,
    delta: Delta,
    clock: Clock,
    lease: Lease | None,
) -> EventOutcome:
    name = binding.name
    page = prepare_page(delta.added, name, binding.options.max_entity_bytes)
    for rejection in page.rejections:
        log.warning("event entity rejected", provider=name, topic=topic, reason=rejection.reason)
    removed, refused = _removed_refs(delta.removed, name, topic)
    removed += _superseded_apis(repository, name, delta.replaces_apis_of, page.entities)
    removed = sorted(set(removed) - {entity.ref for entity in page.entities})
    rejected = len(page.rejections) + refused
    if not page.entities and not removed:
        return EventOutcome(name, topic, EventStatus.APPLIED, rejected=rejected)
    ingestion_id, deleted = _write(repository, binding, page.entities, removed, clock, lease)
    log.info(
        "event applied",
        provider=name,
        topic=topic,
        added=len(page.entities),
        removed=deleted,
        ingestion=ingestion_id,
    )
    return EventOutcome(
        name, topic, EventStatus.APPLIED, len(page.entities), deleted, rejected, ingestion_id
    )


def _write(
    repository: IngestionRepository,
    binding: ProviderBinding,
    added: Sequence[PreparedEntity],
    removed: Sequence[str],
    clock: Clock,
    lease: Lease | None,
) -> tuple[str, int]:
    """Apply the delta under a fresh fence of the open ingestion; returns it and how many
    records were deleted. The lease is checked before the fence is taken (a holder that lost
    the lock must not fence out the one that has it) and again before the write."""
    now = clock.now()
    first = NextAction.PAUSE if binding.passive else NextAction.INGEST  # passive: no passes
    ingestion = repository.get_open(binding.name) or repository.open_ingestion(
        binding.name, now, first
    )
    ensure_held(lease)
    fence = repository.take_fence(ingestion.id)
    ensure_held(lease)
    options = binding.options
    deleted = repository.apply_delta(
        ingestion,
        fence,
        added,
        removed,
        binding.priority,
        now,
        ttl_seconds=options.ttl_seconds,
        merge_replace=options.merge == "replace",
    )
    return ingestion.id, deleted


def _removed_refs(refs: Sequence[str], provider: str, topic: str) -> tuple[list[str], int]:
    """The delta's removed refs in full form, and how many were not refs at all."""
    valid: list[str] = []
    for ref in refs:
        try:
            valid.append(parse_ref(ref))
        except InvalidEntityError as error:
            log.warning("event ref rejected", provider=provider, topic=topic, reason=str(error))
    return valid, len(refs) - len(valid)


def _superseded_apis(
    repository: IngestionRepository,
    provider: str,
    refs: Sequence[str],
    added: Sequence[PreparedEntity],
) -> list[str]:
    """APIs the stored versions of ``refs`` provided that the delta does not add again."""
    wanted = [ref for ref in map(full_ref, refs) if ref is not None]
    if not wanted:
        return []
    stored = repository.stored_entities(provider, wanted)
    kept = {entity.ref for entity in added}
    return [api for body in stored.values() for api in provided_apis(body) if api not in kept]
