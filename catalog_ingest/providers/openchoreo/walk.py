"""The resumable walk over organizations -> projects -> components, as a fixed-size cursor.

The walk has three phases: list every organization (emit Domains), then every organization's
projects (Systems), then every project's components (Components and APIs), so pages come in
dependency order. Within a phase, the cursor is a *stack* of at most three listing positions:
the listings of the parents being walked and the listing being emitted. A position holds the
continue token of a page and the name of the last item consumed from that listing; for a
parent listing that item is the parent currently walked.

So the cursor never grows with the number of organizations or projects (no queues, no
"processed" sets), and survives a JSON round trip. Listings are ordered by name (Kubernetes
key order), which makes resumption exact: items at or before the position's name are skipped,
whether a page is fetched again, the server repeats an item, or a listing restarts after its
continue token expired (HTTP 410). Parents that vanish mid-walk (404) are skipped, and a
listing that stops advancing is an error (see :mod:`.listing`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog_ingest.contracts.provider import JSONValue
from catalog_ingest.providers.openchoreo.listing import (
    MAX_RESTARTS_WITHOUT_PROGRESS,
    Listing,
    Position,
    Restarts,
    check_cursor_moved,
    new_items,
    next_page,
)
from catalog_ingest.providers.openchoreo.upstream_errors import (
    ContinueTokenExpiredError,
    NotFoundError,
    UpstreamContractError,
)

__all__ = [
    "LEVELS",
    "MAX_RESTARTS_WITHOUT_PROGRESS",
    "Emitted",
    "FetchListing",
    "Listing",
    "Position",
    "StepResult",
    "WalkCursor",
    "step",
]

log = structlog.get_logger(__name__)

LEVELS = ("organizations", "projects", "components")
"""Depth 0, 1 and 2 of the walk; phase ``n`` emits the items of depth ``n``."""


class WalkCursor(BaseModel):
    """The provider's cursor, as stored by the engine (compact keys: it is stored per page)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    version: Literal[1] = Field(1, alias="v")
    phase: int = Field(0, ge=0, le=len(LEVELS) - 1, alias="p")
    stack: list[Position] = Field(
        default_factory=lambda: [Position()], min_length=1, max_length=len(LEVELS), alias="s"
    )

    @classmethod
    def load(cls, cursor: JSONValue) -> "WalkCursor":
        """The walk's start for ``None``; a clear error for a cursor this code cannot resume."""
        if cursor is None:
            return cls()
        try:
            walk = cls.model_validate(cursor)
        except ValidationError as error:
            raise ValueError(
                f"not an OpenChoreo walk cursor ({error.error_count()} problems): "
                f"{str(cursor)[:200]}"
            ) from None
        if len(walk.stack) > walk.phase + 1:
            raise ValueError(f"walk cursor deeper than its phase: {str(cursor)[:200]}")
        return walk

    def dump(self) -> JSONValue:
        dumped: JSONValue = self.model_dump(by_alias=True, exclude_none=True)
        return dumped


FetchListing = Callable[[int, tuple[str, ...], str | None], Listing]
"""``(depth, parent names, token) -> Listing``; raises 410 / 404 errors of the client."""


@dataclass(slots=True)
class Emitted:
    """Items the walk consumed for emission, with their parents' names."""

    depth: int
    parents: tuple[str, ...]
    items: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class StepResult:
    emitted: list[Emitted]
    cursor: WalkCursor | None
    """``None`` when the walk is complete."""


def _where(depth: int, parents: tuple[str, ...]) -> str:
    scope = "/".join(parents)
    return f"listing {LEVELS[depth]}" + (f" of {scope}" if scope else "")


class _Walker:
    """One advance of the walk (see :func:`step`); mutates its own copy of the cursor."""

    def __init__(self, cursor: WalkCursor, fetch: FetchListing) -> None:
        self.walk = cursor.model_copy(deep=True)
        self.fetch = fetch
        self.emitted: list[Emitted] = []
        self.taken = 0
        self.complete = False
        self.restarts = Restarts()

    def advance(self) -> None:
        """One listing fetch at the top of the stack, and what it implies."""
        walk = self.walk
        depth = len(walk.stack) - 1
        position = walk.stack[-1]
        parents = tuple(str(p.after) for p in walk.stack[:-1])
        listing = self._fetch(depth, parents, position)
        if listing is None:
            return
        where = _where(depth, parents)
        check_cursor_moved(listing, position, where)
        fresh = new_items(listing, position.after, where)
        self.restarts.honoured(position)
        if depth == walk.phase:
            if fresh:
                self.emitted.append(Emitted(depth, parents, [item for _name, item in fresh]))
                self.taken += len(fresh)
            if listing.has_more:
                after = fresh[-1][0] if fresh else position.after
                walk.stack[-1] = next_page(listing, position, after, where)
            else:
                self._pop()
        elif fresh:
            walk.stack[-1] = position.at(fresh[0][0])
            walk.stack.append(Position())
        elif listing.has_more:
            walk.stack[-1] = next_page(listing, position, position.after, where)
        else:
            self._pop()

    def _fetch(self, depth: int, parents: tuple[str, ...], position: Position) -> Listing | None:
        """The page at ``position``; ``None`` when a 410 or 404 was handled instead."""
        where = _where(depth, parents)
        try:
            return self.fetch(depth, parents, position.token)
        except ContinueTokenExpiredError:
            if position.token is None:
                raise UpstreamContractError(f"{where}: HTTP 410 without a continue token") from None
            count = self.restarts.one_more()
            if self.restarts.exhausted:
                raise ContinueTokenExpiredError(
                    f"{where}: continue tokens expired {count} times in a row, none was honoured"
                ) from None
            log.info("continue token expired; restarting the listing", listing=where)
            self.walk.stack[-1] = position.restarted()
        except NotFoundError:
            if depth == 0:
                raise
            log.warning("parent vanished during the walk; skipped", listing=where)
            self._pop()
        return None

    def _pop(self) -> None:
        """Finish the top listing; start the next phase when the stack empties."""
        walk = self.walk
        walk.stack.pop()
        if walk.stack:
            return
        if walk.phase + 1 >= len(LEVELS):
            self.complete = True
            return
        walk.phase += 1
        walk.stack = [Position()]


def step(
    cursor: WalkCursor,
    fetch: FetchListing,
    *,
    want: int,
    max_fetches: int,
) -> StepResult:
    """Advance the walk by up to ``max_fetches`` listing fetches, stopping once ``want``
    items were consumed for emission (pages are never split: a page's items are all taken).
    """
    walker = _Walker(cursor, fetch)
    for _ in range(max_fetches):
        walker.advance()
        if walker.complete:
            return StepResult(walker.emitted, None)
        if walker.taken >= want:
            break
    return StepResult(walker.emitted, walker.walk)
