"""The resumable walk over today's OpenChoreo API (namespace era), as a fixed-size cursor.

It reads the namespace listing once; for each namespace, in order, it emits the namespace's
Domain, then walks three of the namespace's listings:

1. ``projects``: Systems;
2. ``workloads``, the *scan*: nothing is emitted; it learns, in three fields, whether the
   listing is in its components' order (see :mod:`.workload_join`);
3. ``components``: each page of components is joined with the workload listing, read a second
   time in step, and gives Components and their APIs; components the join cannot place are
   looked up one by one through the engine's detail fan-out.

Requests per pass are paged listings only (plus the rare lookups): see the README's formula.
The cursor holds the namespace listing's position, the stage, the stage listing's position, the
join's position in the workload listing and the scan's three facts: about 200 bytes plus the
server's cursors, whatever the installation's size. Positions skip what was consumed, so a page
fetched again, a repeated item, or a listing restarted because the server answered ``500`` to
its cursor (an expired Kubernetes continue token) loses and repeats nothing. A namespace that
vanishes mid-walk (404) is skipped; a listing that stops advancing is an error.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog_ingest.contracts.provider import JSONValue
from catalog_ingest.providers.openchoreo.listing import (
    Listing,
    Position,
    Restarts,
    check_cursor_moved,
    new_items,
    next_page,
)
from catalog_ingest.providers.openchoreo.upstream_errors import (
    CursorRejectedError,
    NotFoundError,
)
from catalog_ingest.providers.openchoreo.workload_join import WorkloadOrder, join

log = structlog.get_logger(__name__)

Kind = Literal["namespaces", "projects", "workloads", "components"]
FetchNamespaceListing = Callable[[Kind, str | None, str | None], Listing]
"""``(kind, namespace, cursor) -> Listing``; raises the client's 500 / 404 errors."""


class Stage(StrEnum):
    PROJECTS = "p"
    SCAN = "w"
    COMPONENTS = "c"


class NamespaceCursor(BaseModel):
    """The namespace walk's cursor, as stored by the engine (compact keys)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    generation: Literal["namespaces"] = Field("namespaces", alias="g")
    namespaces: Position = Field(default_factory=Position, alias="ns")
    """``after``: the namespace being walked (a stage is set) or the last one done."""
    stage: Stage | None = Field(None, alias="st")
    listing: Position = Field(default_factory=Position, alias="l")
    join: Position = Field(default_factory=Position, alias="j")
    order: WorkloadOrder = Field(default_factory=WorkloadOrder, alias="o")

    @classmethod
    def load(cls, cursor: JSONValue) -> "NamespaceCursor":
        if cursor is None:
            return cls()
        try:
            return cls.model_validate(cursor)
        except ValidationError as error:
            raise ValueError(
                f"not an OpenChoreo namespace walk cursor ({error.error_count()} problems): "
                f"{str(cursor)[:200]}"
            ) from None

    def dump(self) -> JSONValue:
        dumped: JSONValue = self.model_dump(by_alias=True, exclude_none=True)
        return dumped


BatchKind = Literal["domains", "systems", "components", "lookups"]


@dataclass(slots=True)
class Batch:
    """Items the walk consumed: namespaces (Domains), projects (Systems), components with their
    workload (``(component, workload or None)``), or components to look up."""

    kind: BatchKind
    namespace: str | None
    items: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class NamespaceStep:
    batches: list[Batch]
    cursor: NamespaceCursor | None
    """``None`` when the walk is complete."""


def _where(kind: Kind, namespace: str | None) -> str:
    return f"listing {kind}" + (f" of {namespace}" if namespace else "")


class _Walker:
    """Advances of the walk (see :func:`step`); mutates its own copy of the cursor."""

    def __init__(self, cursor: NamespaceCursor, fetch: FetchNamespaceListing) -> None:
        self.walk = cursor.model_copy(deep=True)
        self.fetch = fetch
        self.batches: list[Batch] = []
        self.taken = 0
        self.complete = False
        self.restarts = Restarts()

    @property
    def namespace(self) -> str | None:
        return self.walk.namespaces.after if self.walk.stage else None

    def emit(self, kind: BatchKind, items: list[Any]) -> None:
        if items:
            self.batches.append(Batch(kind, self.namespace, items))
            self.taken += len(items)

    def advance(self) -> None:
        """One listing fetch (with the join's reads, in the components stage)."""
        stage = self.walk.stage
        if stage is None:
            self._next_namespace()
        elif stage is Stage.PROJECTS:
            self._stage_page("projects", Stage.SCAN)
        elif stage is Stage.SCAN:
            self._stage_page("workloads", Stage.COMPONENTS)
        else:
            self._stage_page("components", None)

    def _next_namespace(self) -> None:
        position = self.walk.namespaces
        listing = self._read("namespaces", None, position)
        if isinstance(listing, Position):
            self.walk.namespaces = listing
            return
        assert listing is not None  # a 404 on the namespace listing itself is raised
        where = _where("namespaces", None)
        fresh = new_items(listing, position.after, where)
        if fresh:
            name, namespace = fresh[0]
            self.walk.namespaces = position.at(name)
            self._enter(Stage.PROJECTS)
            self.emit("domains", [namespace])
        elif listing.has_more:
            self.walk.namespaces = next_page(listing, position, position.after, where)
        else:
            self.complete = True

    def _stage_page(self, kind: Kind, then: Stage | None) -> None:
        namespace, position = self.namespace, self.walk.listing
        listing = self._read(kind, namespace, position)
        if listing is None:
            self.walk.stage = None  # the namespace vanished: skipped
            return
        if isinstance(listing, Position):
            self.walk.listing = listing
            return
        where = _where(kind, namespace)
        fresh = new_items(listing, position.after, where)
        items = [item for _name, item in fresh]
        if kind == "projects":
            self.emit("systems", items)
        elif kind == "workloads":
            self.walk.order = self.walk.order.seen(items)
        elif items:
            try:
                self._join([name for name, _item in fresh], items)
            except NotFoundError:
                self.walk.stage = None  # the namespace vanished while joining: skipped
                return
        after = fresh[-1][0] if fresh else position.after
        if listing.has_more:
            self.walk.listing = next_page(listing, position, after, where)
        elif then is None:
            self.walk.stage = None
        else:
            self._enter(then)

    def _join(self, names: list[str], components: list[Any]) -> None:
        namespace = self.namespace
        where = _where("workloads", namespace)
        result = join(
            names,
            self.walk.join,
            self.walk.order,
            lambda position: self._read_or_raise("workloads", namespace, position),
            where,
        )
        self.walk.join = result.position
        uncertain = set(result.uncertain)
        self.emit(
            "components",
            [(c, result.workloads.get(c.name)) for c in components if c.name not in uncertain],
        )
        self.emit("lookups", [c for c in components if c.name in uncertain])

    def _enter(self, stage: Stage) -> None:
        self.walk.stage = stage
        self.walk.listing = Position()
        if stage is Stage.SCAN:
            self.walk.order = WorkloadOrder()
        if stage is Stage.COMPONENTS:
            self.walk.join = Position()

    def _read_or_raise(self, kind: Kind, namespace: str | None, position: Position) -> Any:
        listing = self._read(kind, namespace, position)
        if listing is None:
            raise NotFoundError(f"{_where(kind, namespace)}: HTTP 404")
        return listing

    def _read(
        self, kind: Kind, namespace: str | None, position: Position
    ) -> Listing | Position | None:
        """The page at ``position``; else the position to restart from (the server rejected
        the cursor with a 500), or None (the namespace vanished: 404)."""
        where = _where(kind, namespace)
        try:
            listing = self.fetch(kind, namespace, position.token)
        except CursorRejectedError:
            count = self.restarts.one_more()
            if self.restarts.exhausted:
                raise CursorRejectedError(
                    f"{where}: the server answered HTTP 500 to the cursor {count} times in a "
                    "row, none was honoured (expired or rejected cursors)"
                ) from None
            log.info("cursor rejected (HTTP 500); restarting the listing", listing=where)
            return position.restarted()
        except NotFoundError:
            if kind == "namespaces":
                raise
            log.warning("namespace vanished during the walk; skipped", listing=where)
            return None
        check_cursor_moved(listing, position, where)
        self.restarts.honoured(position)
        return listing


def step(
    cursor: NamespaceCursor, fetch: FetchNamespaceListing, *, want: int, max_fetches: int
) -> NamespaceStep:
    """Advance the walk by up to ``max_fetches`` listing pages, stopping once ``want`` items
    were consumed (pages are never split)."""
    walker = _Walker(cursor, fetch)
    for _ in range(max_fetches):
        walker.advance()
        if walker.complete:
            return NamespaceStep(walker.batches, None)
        if walker.taken >= want:
            break
    return NamespaceStep(walker.batches, walker.walk)
