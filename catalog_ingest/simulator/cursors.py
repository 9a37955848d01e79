"""Namespace-era paging: opaque cursors over Kubernetes-style list calls, as the server pages.

An unfiltered listing is one Kubernetes list call per page: the cursor is the continue token
itself (here a signed :class:`ContinueTokens` token) and ``remainingCount`` counts what
follows. A listing filtered in memory (the ``?project=`` filter, or hidden items standing for
the authorization filter) over-fetches pages of ``limit`` items until ``limit`` of them pass,
like the server's ``FilteredList``: its cursor is base64url JSON ``{"c": continue, "s": skip}``
(empty fields left out) naming the list call to repeat and how many of its items were already
consumed, and it has no ``remainingCount``. Its last page may be empty.

One deliberate difference: the server repeats the list call of the token it holds and skips
``s`` items, which Kubernetes makes consistent with a snapshot; the simulator has no snapshot,
so its token also names the last item served and the skip goes by name, so mutations between
pages never make a cursor skip or repeat an item. A cursor that is malformed, tampered with,
for another listing or expired raises the continue-token errors, which the namespace era
answers as HTTP 500.
"""

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from catalog_ingest.simulator.api_errors import invalid_token
from catalog_ingest.simulator.faults import FaultPlan
from catalog_ingest.simulator.namespace_views import Entry, View, Window
from catalog_ingest.simulator.state import Simulator
from catalog_ingest.simulator.tokens import ContinueTokens


@dataclass(frozen=True)
class Listing:
    """One namespace-era listing: where its tokens belong, its view and what it keeps."""

    key: str
    """The Kubernetes listing its tokens are bound to, e.g. ``namespaces/acme/components``."""
    view: View
    keep: Callable[[Entry], bool]
    filtered: bool
    """Filtered in memory: JSON cursors with a skip count, no ``remainingCount``."""


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_cursor: str | None
    remaining: int | None
    served_before: str | None = None
    """The last key the previous page served (from the cursor), for the duplicate fault."""
    end: str | None = None
    """The last key this page covered (or its start): where a forced next cursor resumes."""

    def pagination(self) -> dict[str, object]:
        body: dict[str, object] = {}
        if self.next_cursor is not None:
            body["nextCursor"] = self.next_cursor
        if self.remaining is not None:
            body["remainingCount"] = self.remaining
        return body


def encode_cursor(token: str, skip: int) -> str:
    """``base64url(json)`` without padding, like Go's ``base64.RawURLEncoding``."""
    body: dict[str, object] = {}
    if token:
        body["c"] = token
    if skip:
        body["s"] = skip
    return base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    """The continue token and skip count of a filtered listing's cursor."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise invalid_token("malformed cursor") from None
    if not isinstance(data, dict) or not set(data) <= {"c", "s"}:
        raise invalid_token("malformed cursor")
    token, skip = data.get("c", ""), data.get("s", 0)
    if not isinstance(token, str) or type(skip) is not int or skip < 0:
        raise invalid_token("malformed cursor")
    return token, skip


def _plain(tokens: ContinueTokens, listing: Listing, limit: int, cursor: str | None) -> Page:
    redeemed = None if cursor is None else tokens.redeem(cursor, listing.key)
    after = None if redeemed is None else redeemed.after
    window = listing.view.window(after, limit)
    end = window.entries[-1].key if window.entries else after
    served_before = None if redeemed is None else redeemed.last_visible
    if not window.has_more or end is None:
        return Page(window.entries, None, None, served_before, end)
    next_cursor = tokens.issue(listing.key, end, end)
    return Page(window.entries, next_cursor, listing.view.count_after(end), served_before, end)


def _resume(
    listing: Listing, after: str | None, served_before: str | None, skip: int, limit: int
) -> tuple[Window, int, str | None]:
    """The first list call of a filtered page, where in it to start, and its ``after``."""
    while True:
        window = listing.view.window(after, limit)
        batch = window.entries
        if served_before is not None:
            return window, sum(1 for entry in batch if entry.key <= served_before), after
        if skip < len(batch) or not window.has_more:
            return window, min(skip, len(batch)), after
        skip -= len(batch)  # a whole list call already consumed, as the server skips it
        after = batch[-1].key


def _filtered(tokens: ContinueTokens, listing: Listing, limit: int, cursor: str | None) -> Page:
    token, skip = ("", 0) if cursor is None else decode_cursor(cursor)
    redeemed = tokens.redeem(token, listing.key) if token else None
    after = None if redeemed is None else redeemed.after
    served_before = None if redeemed is None else redeemed.last_visible
    window, start, after = _resume(listing, after, served_before, skip, limit)
    served: list[Entry] = []
    while True:
        batch = window.entries
        for index in range(start, len(batch)):
            if listing.keep(batch[index]):
                served.append(batch[index])
                if len(served) == limit:
                    last = batch[index].key
                    if index + 1 < len(batch):  # the next page resumes inside this call
                        next_cursor = encode_cursor(
                            tokens.issue(listing.key, after, last), index + 1
                        )
                    elif window.has_more:
                        next_cursor = encode_cursor(tokens.issue(listing.key, last, last), 0)
                    else:
                        next_cursor = None
                    return Page(served, next_cursor, None, served_before, last)
        end = batch[-1].key if batch else after
        if not window.has_more or not batch:
            return Page(served, None, None, served_before, end)
        after, start = end, 0
        window = listing.view.window(after, limit)


def _forced(tokens: ContinueTokens, listing: Listing, page: Page) -> str:
    """A cursor resuming after ``page`` even at the end (the fresh token a fault needs)."""
    token = tokens.issue(listing.key, page.end, page.end)
    return encode_cursor(token, 0) if listing.filtered else token


def read_page(
    simulator: Simulator, listing: Listing, limit: int, cursor: str | None, plan: FaultPlan
) -> Page:
    """One page of ``listing`` after ``cursor``, with this request's paging faults applied."""
    tokens = simulator.tokens
    page = (_filtered if listing.filtered else _plain)(tokens, listing, limit, cursor)
    entries, next_cursor = page.entries, page.next_cursor
    if plan.duplicate and page.served_before is not None:
        repeated = listing.view.lookup(page.served_before)
        if repeated is not None and listing.keep(repeated):
            entries = [repeated, *entries]
    if cursor is not None and plan.stuck_token:
        next_cursor = cursor
    elif cursor is not None and plan.cycle_token:
        fresh = next_cursor or _forced(tokens, listing, page)
        next_cursor = simulator.faults.cycle.answer(cursor, fresh)
    return Page(entries, next_cursor, page.remaining, page.served_before, page.end)
