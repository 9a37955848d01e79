"""The provider contract: three small methods; the engine owns everything else.

A provider walks its upstream page by page. It never touches the database: the engine stores the
cursor it returns and hands it back on the next call, possibly in another process, days later.
Cursors must therefore be JSON-serialisable (no sets, tuples, datetimes or objects) and small.
"""

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
Entity: TypeAlias = dict[str, Any]
"""A Backstage entity as a JSON object (``apiVersion``, ``kind``, ``metadata``, ``spec``...)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a provider's walk.

    ``cursor`` resumes the walk *after* this page; it is ignored when ``done`` is true.
    """

    done: bool
    entities: Sequence[Entity] = ()
    cursor: JSONValue = None


@dataclass(frozen=True, slots=True)
class Delta:
    """Changes an event carries: entities to add (or replace) and refs to remove."""

    added: Sequence[Entity] = ()
    removed: Sequence[str] = ()


IGNORED: Literal["ignored"] = "ignored"
"""What :meth:`EventHandler.on_event` returns for events it does not act on."""

EventResult: TypeAlias = Delta | Literal["ignored"]


@dataclass(frozen=True, slots=True)
class BurstInfo:
    """What a provider may want to know about the burst it is set up for."""

    provider_name: str
    ingestion_id: str
    fence: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """An incremental entity provider."""

    @property
    def name(self) -> str:
        """Unique name; also the catalog source and the ``provider:<name>`` location."""
        ...

    def around(self, burst: BurstInfo) -> AbstractContextManager[Any]:
        """Set up what one burst needs (clients, sessions) and tear it down afterwards.

        The value the context manager yields is passed to :meth:`next` as ``context``.
        """
        ...

    def next(self, context: Any, cursor: JSONValue) -> Page:
        """Fetch the page after ``cursor`` (``None`` on the first call of a pass)."""
        ...


@runtime_checkable
class OriginDescriber(Protocol):
    """Optional: providers that can say where upstream an entity came from.

    Used to report clashes (two upstream items that translate to the same ref) with both
    upstream paths, e.g. ``org-a/web`` and ``org-b/web``.
    """

    def origin_of(self, entity: Mapping[str, Any]) -> str:
        """A short, human-readable upstream path of the entity."""
        ...


@runtime_checkable
class EventHandler(Protocol):
    """Optional: providers that react to upstream events between passes."""

    def supports_event_topics(self) -> Sequence[str]:
        """Topics this provider wants to receive."""
        ...

    def on_event(self, topic: str, payload: Mapping[str, Any]) -> EventResult:
        """Turn an event into a delta, or ``"ignored"``."""
        ...
