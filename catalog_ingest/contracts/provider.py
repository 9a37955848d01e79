"""The provider contract: three small methods; the engine owns everything else.

A provider walks its upstream page by page. It never touches the database: the engine stores the
cursor it returns and hands it back on the next call, possibly in another process, days later.
Cursors must therefore be JSON-serialisable (no sets, tuples, datetimes or objects) and small.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
Entity: TypeAlias = dict[str, Any]
"""A Backstage entity as a JSON object (``apiVersion``, ``kind``, ``metadata``, ``spec``...)."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """Work a page waits for: resolved into entities later, possibly by another process.

    The page commits (its entities, marks and cursor, atomically) only once every deferred
    item of it is resolved. ``payload`` is stored, so it must be JSON; ``labels`` are shown on
    the task that resolves the item (Flower), e.g. organization, project and component.
    """

    key: str
    """Unique within the page."""
    payload: JSONValue
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolving a deferred item gave."""

    entities: Sequence[Entity] = ()
    fallback: str | None = None
    """Why the item was resolved in a degraded way (e.g. its detail call kept failing)."""
    keep_refs_of: Sequence[str] = ()
    """Refs (components) whose previously stored ``spec.providesApis`` are carried forward: a
    partial failure removes nothing. The engine marks those APIs into the pass (their stored
    bodies stay as they were) and lists them again in the emitted entity of that ref."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a provider's walk.

    ``cursor`` resumes the walk *after* this page; it is ignored when ``done`` is true.
    """

    done: bool
    entities: Sequence[Entity] = ()
    cursor: JSONValue = None
    deferred: Sequence[Deferred] = ()
    """Items whose entities belong to this page but need more upstream calls (see
    :class:`DeferringProvider`)."""


@dataclass(frozen=True, slots=True)
class Delta:
    """Changes an event carries: entities to add (or replace) and refs to remove."""

    added: Sequence[Entity] = ()
    removed: Sequence[str] = ()
    replaces_apis_of: Sequence[str] = ()
    """Refs (components) whose stored ``spec.providesApis`` this delta replaces: each API they
    listed that ``added`` does not bring again is removed too (the provider's own records only).
    Upstream cannot say what a deleted component provided, or which endpoint a changed one
    lost; the catalog still knows."""


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
        """Fetch the page after ``cursor`` (``None`` on the first call of a pass).

        May run on a helper thread while the previous page commits (read-ahead), never
        concurrently with another call of the same burst. Its result depends on ``cursor``
        alone: a page read ahead and then dropped is simply asked for again.
        """
        ...


Gate = Callable[[], AbstractContextManager[None]]
"""Wraps each upstream call of a resolver: takes a global request slot for the call."""
Resolve = Callable[[JSONValue], Resolution]


@runtime_checkable
class DeferringProvider(Protocol):
    """Optional: providers whose pages carry :class:`Deferred` items.

    The engine resolves them by fanning out child tasks (distributed mode) or inline, a bounded
    number at a time; either way every upstream call goes through ``gate``.
    """

    def resolver(self, gate: Gate) -> AbstractContextManager[Resolve]:
        """Set up what resolving needs (an HTTP client); yield the function that resolves one
        deferred item's payload. Resolving must not raise for upstream failures: it degrades
        (``Resolution.fallback``) instead."""
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
class CursorDescriber(Protocol):
    """Optional: providers that can say, for ``ingest status``, what a stored cursor means.

    Called with the cursor of a pass's last committed page (never ``None``), in any process,
    without network access; returns a few short fields shown as they are, e.g.
    ``{"api": "namespaces", "walking": "components of acme"}``. A cursor it cannot read gives
    ``{}`` rather than an error.
    """

    def describe_cursor(self, cursor: JSONValue) -> Mapping[str, str]:
        """Short, human-readable facts about the walk this cursor resumes."""
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
