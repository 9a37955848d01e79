"""The ``push`` source: entities another system writes (``ingest push``, later the HTTP service).

It has no upstream to walk, so it never runs a pass (its binding is passive: the engine never
ticks it, so nothing is ever swept) and its records leave only when deleted or expired. A push
is delivered as an event on the topic ``push`` and applied by the engine's event path: under
the source's lock and a fresh fence, every entity validated and rejected one by one like any
provider's.

Payload: ``{"entities": [...]}`` upserts those entities; ``{"delete": ["kind:ns/name", ...]}``
removes those refs from this source's records (another source's record of a ref takes over).
"""

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from catalog_ingest.contracts.errors import ContractViolationError, InvalidEventError
from catalog_ingest.contracts.provider import BurstInfo, Delta, EventResult, JSONValue, Page

PUSH_TOPIC = "push"


class PushHasNoPassesError(ContractViolationError):
    """Something ticked a push source into a pass (its binding must be passive)."""


class PushSourceProvider:
    """A ``push`` source as a provider of the engine."""

    def __init__(self, name: str, max_entities: int) -> None:
        self._name = name
        self.max_entities = max_entities

    @property
    def name(self) -> str:
        return self._name

    def around(self, burst: BurstInfo) -> AbstractContextManager[None]:
        return nullcontext()

    def next(self, context: Any, cursor: JSONValue) -> Page:
        raise PushHasNoPassesError(f"source {self._name} is written by pushes: it has no passes")

    def supports_event_topics(self) -> Sequence[str]:
        return (PUSH_TOPIC,)

    def on_event(self, topic: str, payload: Mapping[str, Any]) -> EventResult:
        unknown = set(payload) - {"entities", "delete"}
        if unknown:
            raise InvalidEventError(f"a push takes 'entities' and 'delete', not {sorted(unknown)}")
        entities = _list_of(payload, "entities")
        refs = _list_of(payload, "delete")
        if len(entities) + len(refs) > self.max_entities:
            raise InvalidEventError(
                f"a push to {self._name} holds {len(entities) + len(refs):,} entities or refs, "
                f"over its max_entities ({self.max_entities:,}); split it"
            )
        if not all(isinstance(ref, str) for ref in refs):
            raise InvalidEventError("'delete' must list entity refs (strings)")
        return Delta(added=entities, removed=refs)


def _list_of(payload: Mapping[str, Any], key: str) -> list[Any]:
    value = payload.get(key, [])
    if not isinstance(value, list):
        raise InvalidEventError(f"a push's {key!r} must be a list, got {type(value).__name__}")
    return value
