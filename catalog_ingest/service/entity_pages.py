"""One page of a listing, as Backstage's ``queryEntities`` answers it: the keyset page, its
entities, ``nextCursor`` / ``prevCursor`` and ``totalItems`` (counted on the first page only,
then carried in the cursor).

Reads go through :func:`fresh_engine`, which first lets the projection catch up with the change
feed (bounded), so a reader sees what was committed before it asked.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.entity_fields import project
from catalog_ingest.service.query_cursor import Cursor
from models.search_projection import catch_up
from models.search_queries import Listing, SortKey, bodies, count, page

CATCH_UP_SECONDS = 10.0
"""At most this long a request spends applying the feed to the projection before answering
(the ``ingest.project`` task does the bulk of it in the background)."""
STREAM_BATCH = 500


def fresh_engine(context: ServiceContext) -> Engine:
    """The database, with the projection caught up with the feed's committed changes."""
    engine: Engine = context.runtime.database
    catch_up(engine, CATCH_UP_SECONDS)
    return engine


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    next_cursor: Cursor | None
    prev_cursor: Cursor | None
    total: int | None


def first_page(connection: Connection, listing: Listing, limit: int, total: bool) -> Page:
    """The first page of ``listing``; ``total``: count the entities it selects."""
    rows = page(connection, listing, None, limit + 1)
    counted = count(connection, listing) if total else None
    first = rows[0] if rows else None
    return _assemble(connection, listing, rows[:limit], len(rows) > limit, first, counted, True)


def next_page(connection: Connection, cursor: Cursor, limit: int) -> Page:
    """The page after (or, for a previous-page cursor, before) ``cursor``'s position."""
    listing = cursor.listing
    if cursor.backwards:  # the cursor's own row follows: there is a next page
        rows = list(reversed(page(connection, listing, cursor.position, limit, backwards=True)))
        more = True
    else:
        rows = page(connection, listing, cursor.position, limit + 1)
        rows, more = rows[:limit], len(rows) > limit
    return _assemble(connection, listing, rows, more, cursor.first, cursor.total, False)


def _assemble(
    connection: Connection,
    listing: Listing,
    rows: list[SortKey],
    more: bool,
    first: SortKey | None,
    total: int | None,
    initial: bool,
) -> Page:
    next_cursor = Cursor(listing, rows[-1], False, first, total) if more and rows else None
    prev_cursor = None
    if not initial and rows and rows[0] != first:
        prev_cursor = Cursor(listing, rows[0], True, first, total)
    return Page(
        entities(connection, [ref for _value, ref in rows]), next_cursor, prev_cursor, total
    )


def entities(connection: Connection, refs: Sequence[str]) -> list[Any]:
    """The merged entities of ``refs``, in that order (a ref removed meanwhile is skipped)."""
    found = bodies(connection, refs)
    return [found[ref] for ref in refs if ref in found]


def all_entities(engine: Engine, listing: Listing, fields: tuple[str, ...]) -> Iterator[Any]:
    """Every entity of ``listing`` in its order, read in keyset batches (constant memory)."""
    position: SortKey | None = None
    while True:
        with engine.connect() as connection:
            rows = page(connection, listing, position, STREAM_BATCH)
            batch = entities(connection, [ref for _value, ref in rows])
        yield from (project(entity, fields) for entity in batch)
        if len(rows) < STREAM_BATCH:
            return
        position = rows[-1]
