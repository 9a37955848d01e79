"""Pending pages: listing pages whose entities wait for deferred items (detail fan-out).

A pending page is a mark with ``deferred > 0`` and no ``finalized_at``. Its sequence and cursor
are committed with the listing (so the walk goes on), its own entities are held in ``staged``,
and each deferred item is a row of ``ingestion_deferred``. Child tasks record their results
in the items' own rows (an item's first result wins): no counter on the page that every
child would have to lock in turn. After committing, a child counts the page's
unresolved items; the last committer sees none left and finalizes the page, once: the claim
``finalized_at IS NULL`` (and nothing unresolved) is taken in the same transaction as the
page's marks and catalog writes. Should that child die first, the next burst finalizes it.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select, update

from catalog_ingest.contracts.errors import IngestError
from catalog_ingest.contracts.provider import JSONValue
from catalog_ingest.contracts.states import OPEN_TICKET, NextAction
from catalog_ingest.contracts.storage import (
    DeferredItem,
    ItemResult,
    PageContent,
    PageResult,
    PageWrite,
    PendingPage,
)
from models.dialect import skip_flush_wait
from models.pages import next_sequence, store_page
from models.tables import deferred_items, ingestions, marks

ACCEPTING = (NextAction.INGEST, NextAction.BACKOFF)
"""Next actions of a pass that still takes its pages: not canceled, reset, resting or closed."""


class PageRefusedError(IngestError):
    """The page cannot be finalized (its pass no longer accepts writes): roll back the claim."""


def commit_deferred_page(
    connection: Connection,
    ingestion_id: str,
    fence: int,
    page: PageWrite,
    staged: Sequence[JSONValue],
    items: Sequence[DeferredItem],
    now: datetime,
) -> PendingPage:
    sequence = next_sequence(connection, ingestion_id, fence, page, now)
    mark_id = connection.execute(
        marks.insert()
        .values(
            ingestion_id=ingestion_id,
            sequence=sequence,
            cursor=page.cursor,
            created_at=now,
            deferred=len(items),
            dispatch=1,
            dispatched_at=now,
            staged=list(staged),
        )
        .returning(marks.c.id)
    ).scalar_one()
    connection.execute(
        deferred_items.insert(),
        [
            {
                "mark_id": mark_id,
                "key": item.key,
                "position": position,
                "ingestion_id": ingestion_id,
                "payload": item.payload,
                "labels": dict(item.labels),
                "resolved": False,
            }
            for position, item in enumerate(items)
        ],
    )
    return PendingPage(mark_id, sequence, 1, len(items), now)


def _unresolved(mark_id: Any) -> Any:
    """How many of the page's items are not resolved yet (a scalar subquery)."""
    return (
        select(func.count())
        .where(deferred_items.c.mark_id == mark_id, deferred_items.c.resolved.is_(False))
        .scalar_subquery()
    )


def _last_progress(mark_id: Any) -> Any:
    """When a result of the page was last recorded (a scalar subquery)."""
    return (
        select(func.max(deferred_items.c.resolved_at))
        .where(deferred_items.c.mark_id == mark_id)
        .scalar_subquery()
    )


def pending_pages(connection: Connection, ingestion_id: str) -> list[PendingPage]:
    rows = connection.execute(
        select(
            marks.c.id,
            marks.c.sequence,
            marks.c.dispatch,
            _unresolved(marks.c.id).label("pending"),
            marks.c.dispatched_at,
            _last_progress(marks.c.id).label("progressed_at"),
        )
        .where(
            marks.c.ingestion_id == ingestion_id,
            marks.c.deferred > 0,
            marks.c.finalized_at.is_(None),
        )
        .order_by(marks.c.sequence)
    )
    return [
        PendingPage(
            row.id,
            row.sequence,
            row.dispatch,
            row.pending,
            max((m for m in (row.dispatched_at, row.progressed_at) if m), default=None),
        )
        for row in rows
    ]


def deferred_items_of(
    connection: Connection, mark_id: int, keys: Sequence[str]
) -> list[DeferredItem]:
    rows = connection.execute(
        select(deferred_items.c.key, deferred_items.c.payload, deferred_items.c.labels)
        .join(marks, marks.c.id == deferred_items.c.mark_id)
        .where(
            deferred_items.c.mark_id == mark_id,
            deferred_items.c.key.in_(list(keys)),
            deferred_items.c.resolved.is_(False),
            marks.c.finalized_at.is_(None),
        )
        .order_by(deferred_items.c.position)
    )
    return [DeferredItem(row.key, row.payload, row.labels) for row in rows]


def record_resolutions(
    connection: Connection, mark_id: int, results: Sequence[ItemResult], now: datetime
) -> int:
    """Store results of still unresolved items of a pending page; returns how many.

    Whatever the generation of the child: an item's first result wins, and a slow child of an
    earlier generation still counts (refusing it could starve a page whose children are all
    slower than ``pending_page_timeout``)."""
    # A result can always be fetched again (the page is re-dispatched when it stays
    # unresolved), so it need not wait for its WAL flush; the page's commit does.
    skip_flush_wait(connection)
    pending = exists().where(marks.c.id == mark_id, marks.c.finalized_at.is_(None))
    statement = (
        update(deferred_items)
        .where(
            deferred_items.c.mark_id == mark_id,
            deferred_items.c.key == bindparam("item_key"),
            deferred_items.c.resolved.is_(False),
            pending,
        )
        .values(
            resolved=True,
            resolved_at=now,
            entities=bindparam("item_entities"),
            fallback=bindparam("item_fallback"),
            keep_refs_of=bindparam("item_keep"),
        )
    )
    rows = [
        {
            "item_key": r.key,
            "item_entities": list(r.entities),
            "item_fallback": r.fallback,
            "item_keep": list(r.keep_refs_of) or None,
        }
        for r in results
    ]
    # One round trip for the group (psycopg pipelines executemany); rowcount sums the rows.
    return int(connection.execute(statement, rows).rowcount) if rows else 0


def unresolved(connection: Connection, mark_id: int) -> int:
    return int(connection.execute(select(_unresolved(mark_id))).scalar_one())


def page_content(connection: Connection, mark_id: int) -> PageContent | None:
    mark = connection.execute(
        select(marks.c.ingestion_id, marks.c.staged, ingestions.c.provider_name)
        .join(ingestions, ingestions.c.id == marks.c.ingestion_id)
        .where(
            marks.c.id == mark_id,
            marks.c.deferred > 0,
            marks.c.finalized_at.is_(None),
            _unresolved(marks.c.id) == 0,
        )
    ).first()
    if mark is None:
        return None
    entities: list[JSONValue] = list(mark.staged or [])
    fallbacks = 0
    keep: list[str] = []
    for row in connection.execute(
        select(deferred_items.c.entities, deferred_items.c.fallback, deferred_items.c.keep_refs_of)
        .where(deferred_items.c.mark_id == mark_id)
        .order_by(deferred_items.c.position)
    ):
        entities.extend(row.entities or [])
        fallbacks += row.fallback is not None
        keep.extend(row.keep_refs_of or [])
    return PageContent(mark.ingestion_id, mark.provider_name, entities, fallbacks, keep)


def finalize_page(
    connection: Connection, mark_id: int, page: PageWrite, now: datetime
) -> PageResult | None:
    """Raises :class:`PageRefusedError` (after claiming) when the pass no longer accepts the page.

    Locks the ingestion row before the mark, the order ``reset`` and ``cleanup`` take them in
    (ingestion, then its marks by cascade), so a late page and a purge cannot deadlock.
    """
    owner = connection.execute(select(marks.c.ingestion_id).where(marks.c.id == mark_id)).scalar()
    if owner is None:
        return None
    ingestion = connection.execute(
        select(ingestions.c.provider_name, ingestions.c.next_action, ingestions.c.completion_ticket)
        .where(ingestions.c.id == owner)
        .with_for_update()
    ).first()
    claimed = connection.execute(
        update(marks)
        .where(
            marks.c.id == mark_id,
            marks.c.deferred > 0,
            marks.c.finalized_at.is_(None),
            _unresolved(marks.c.id) == 0,
        )
        .values(finalized_at=now, staged=None)
        .returning(marks.c.ingestion_id, marks.c.sequence)
    ).first()
    if claimed is None:
        return None
    if (
        ingestion is None
        or ingestion.completion_ticket != OPEN_TICKET
        or ingestion.next_action not in ACCEPTING
    ):
        raise PageRefusedError(mark_id)
    result = store_page(
        connection,
        claimed.ingestion_id,
        ingestion.provider_name,
        mark_id,
        claimed.sequence,
        page,
        now,
    )
    connection.execute(
        update(ingestions)
        .where(ingestions.c.id == claimed.ingestion_id)
        .values(
            rejected=ingestions.c.rejected + page.rejected,
            fallbacks=ingestions.c.fallbacks + page.fallbacks,
            updated_at=now,
        )
    )
    connection.execute(deferred_items.delete().where(deferred_items.c.mark_id == mark_id))
    return result


def redispatch(
    connection: Connection, mark_id: int, now: datetime
) -> tuple[int, list[DeferredItem]] | None:
    """The caller checks the burst's fence in the same transaction."""
    generation = connection.execute(
        update(marks)
        .where(marks.c.id == mark_id, marks.c.finalized_at.is_(None), _unresolved(marks.c.id) > 0)
        .values(dispatch=marks.c.dispatch + 1, dispatched_at=now)
        .returning(marks.c.dispatch)
    ).scalar()
    if generation is None:
        return None
    rows = connection.execute(
        select(deferred_items.c.key, deferred_items.c.payload, deferred_items.c.labels)
        .where(deferred_items.c.mark_id == mark_id, deferred_items.c.resolved.is_(False))
        .order_by(deferred_items.c.position)
    )
    return int(generation), [DeferredItem(row.key, row.payload, row.labels) for row in rows]
