"""What both walks share about one paged listing: where it resumes, and whether it advances.

A listing is read page by page in name order (Kubernetes key order). Its :class:`Position` is
the cursor of the page being read plus the last name consumed from it, so a page fetched again,
an item the server repeats, or a listing restarted from its beginning (its cursor expired) skips
exactly what was consumed. Two checks keep a misbehaving server from making a walk loop forever:

- a cursor the server hands back unchanged is an error at once;
- a listing whose pages stop bringing names past the furthest one seen (a server cycling through
  cursors A, B, A, B..., or handing out new cursors that lead back) is an error after
  :data:`MAX_PAGES_WITHOUT_PROGRESS` pages in a row. Cursors are not compared with each other:
  they are opaque and may legitimately change from one read to the next.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalog_ingest.providers.openchoreo.upstream_errors import UpstreamContractError

MAX_PAGES_WITHOUT_PROGRESS = 20
"""Pages in a row that bring no name past the furthest seen, before the listing is declared
stuck. Empty pages with more to come are legitimate now and then (items the caller may not see
are filtered after paging), so this is not 1."""
MAX_RESTARTS_WITHOUT_PROGRESS = 5
"""A listing whose cursors keep expiring before any is honoured is an upstream problem to back
off from, not a reason to restart forever."""


class Position(BaseModel):
    """Where a listing resumes: the page's cursor and the last name consumed.

    ``frontier`` and ``stalled`` watch the listing's progress: the greatest name seen on a page
    the walk moved past, and how many pages in a row brought nothing beyond it.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    token: str | None = Field(None, alias="t")
    after: str | None = Field(None, alias="a")
    frontier: str | None = Field(None, alias="f")
    stalled: int | None = Field(None, ge=1, alias="n")

    def restarted(self) -> "Position":
        """The listing from its beginning, still skipping what was consumed."""
        return Position(after=self.after)

    def at(self, after: str | None) -> "Position":
        """The same page, with ``after`` consumed."""
        return self.model_copy(update={"after": after})


@dataclass(frozen=True, slots=True)
class Listing:
    """One fetched page of a listing: item names in order, the items, and what follows."""

    names: Sequence[str]
    items: Sequence[Any]
    next_token: str | None
    has_more: bool


def new_items(listing: Listing, after: str | None, where: str) -> list[tuple[str, Any]]:
    """Items after ``after``, checking the by-name order the walks rely on."""
    fresh: list[tuple[str, Any]] = []
    last = after
    for name, item in zip(listing.names, listing.items, strict=True):
        if last is not None and name <= last:
            if fresh and name < last:
                raise UpstreamContractError(
                    f"{where}: items are not ordered by name ({name!r} after {last!r}); "
                    "resumable paging needs the server's by-name order"
                )
            continue  # already consumed: a repeated item, or a restarted listing
        fresh.append((name, item))
        last = name
    return fresh


def check_cursor_moved(listing: Listing, position: Position, where: str) -> None:
    """A next cursor equal to the one sent can only loop: fail at once."""
    if listing.has_more and listing.next_token == position.token:
        raise UpstreamContractError(
            f"{where}: the continue token did not advance (the server returned the token it "
            "was sent); stopping instead of looping"
        )


def next_page(listing: Listing, position: Position, after: str | None, where: str) -> Position:
    """The position on the page after ``listing`` (read at ``position``), ``after`` consumed.

    Called once per page the walk moves past, it counts pages that brought no name beyond the
    furthest one seen; :data:`MAX_PAGES_WITHOUT_PROGRESS` of them in a row is an error.
    """
    top = max(listing.names, default=None)
    if top is not None and (position.frontier is None or top > position.frontier):
        return Position(token=listing.next_token, after=after, frontier=top)
    stalled = (position.stalled or 0) + 1
    if stalled >= MAX_PAGES_WITHOUT_PROGRESS:
        beyond = f" beyond {position.frontier!r}" if position.frontier else ""
        raise UpstreamContractError(
            f"{where}: the continue token did not advance: {stalled} pages in a row brought "
            f"no item{beyond} (the server keeps handing out cursors that lead back); stopping "
            "instead of looping"
        )
    return Position(
        token=listing.next_token, after=after, frontier=position.frontier, stalled=stalled
    )


class Restarts:
    """Counts listing restarts in a row; a cursor honoured by the server resets the count."""

    def __init__(self) -> None:
        self.count = 0

    def honoured(self, position: Position) -> None:
        if position.token is not None:
            self.count = 0

    def one_more(self) -> int:
        """Count a restart; the caller fails once this exceeds the bound."""
        self.count += 1
        return self.count

    @property
    def exhausted(self) -> bool:
        return self.count > MAX_RESTARTS_WITHOUT_PROGRESS
