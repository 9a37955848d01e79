"""The change feed: every change of a merged entity takes a position, readable from any position.

**Positions follow commit order.** A plain sequence is assigned at insert, not at commit: a
reader could see position 11 committed while 10 is still in flight, move past it, and never
see 10. Here positions come from the single ``feed_state`` row, and a writer takes that row's
lock (:func:`lock_feed`) before it reads the records it merges and keeps it until it commits.
So of two writers, the second allocates only after the first committed: allocation order is
commit order, and a reader that saw position *n* has seen every position below it. (On SQLite
the database's single writer gives the same order.) Holding the lock from the merge's read
also serializes merges of the same ref by different sources: the later one sees the earlier
one's records.

**Readers see only durable positions.** Page commits skip the WAL flush wait (a crash may
lose the newest pages, which are fetched again), so a commit can be visible before it is
durable, and a reader must not move past a position that a crash could take back and hand
out again. Writers stay asynchronous; a reader that finds positions beyond
``durable_position`` moves it up to ``last_position`` in a short transaction of its own that
commits synchronously (waiting for the lock, so for the writer in flight): that flush makes
every earlier commit durable too. Readers then read up to ``durable_position`` only.

**One row per ref.** A ref's new change moves its row to the new position, so the feed stays
the size of the catalog plus its tombstones, and a reader gets each ref's latest state.
Tombstones older than the window are purged; ``purged_position`` remembers the newest purged
one, and a reader behind it is told to relist.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, func, select, text, update

from catalog_ingest.contracts.catalog import FeedBatch, FeedChange
from models.dialect import driver_cursor, is_postgres, upsert_for
from models.tables import catalog_entities, change_feed, feed_state, source_entities

Change = tuple[str, str | None]
"""(ref, new merged hash); ``None``: the ref left the catalog (a tombstone)."""

_PG_UPSERT_FEED = """
INSERT INTO change_feed AS f (ref, position, content_hash, changed_at)
SELECT u.ref, u.position, u.hash, %(now)s
FROM unnest(%(refs)b::text[], %(positions)b::bigint[], %(hashes)b::text[])
     AS u(ref, position, hash)
ON CONFLICT (ref) DO UPDATE SET
    position = excluded.position, content_hash = excluded.content_hash,
    changed_at = excluded.changed_at
"""


_PG_LOCK_FEED = """
INSERT INTO feed_state AS f (id, last_position, purged_position, durable_position)
VALUES (1, 0, 0, 0)
ON CONFLICT (id) DO UPDATE SET last_position = f.last_position
RETURNING last_position
"""
_PG_ADVANCE = "UPDATE feed_state SET last_position = %(last)s WHERE id = 1"


def lock_feed(connection: Connection) -> int:
    """Take the feed's allocation lock for the rest of the transaction; returns the last
    position handed out. Creates the state row when it is missing."""
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_LOCK_FEED)
            return int(cursor.fetchone()[0])
    statement = upsert_for(connection, feed_state).values(
        id=1, last_position=0, purged_position=0, durable_position=0
    )
    statement = statement.on_conflict_do_update(
        index_elements=[feed_state.c.id], set_={"last_position": feed_state.c.last_position}
    ).returning(feed_state.c.last_position)
    return int(connection.execute(statement).scalar_one())


def record_changes(
    connection: Connection, changes: Sequence[Change], last: int, now: datetime, already: int = 0
) -> None:
    """Give ``changes`` the positions after ``last`` (the value :func:`lock_feed` returned in
    this transaction) and the ``already`` positions the caller wrote itself (the fast path of
    :mod:`models.pointer_merge`), and move ``last_position`` past them."""
    first = last + already + 1
    positions = list(range(first, first + len(changes)))
    head = last + already + len(changes)
    if head == last:
        return
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_ADVANCE, {"last": head})
            if changes:
                params = {
                    "now": now,
                    "refs": [ref for ref, _hash in changes],
                    "positions": positions,
                    "hashes": [hash_ for _ref, hash_ in changes],
                }
                cursor.execute(_PG_UPSERT_FEED, params)
        return
    connection.execute(  # SQLite commits synchronously: durable at once
        update(feed_state)
        .where(feed_state.c.id == 1)
        .values(last_position=head, durable_position=head)
    )
    statement = upsert_for(connection, change_feed)
    statement = statement.on_conflict_do_update(
        index_elements=[change_feed.c.ref],
        set_={
            "position": statement.excluded.position,
            "content_hash": statement.excluded.content_hash,
            "changed_at": statement.excluded.changed_at,
        },
    )
    rows = [
        {"ref": ref, "position": position, "content_hash": hash_, "changed_at": now}
        for (ref, hash_), position in zip(changes, positions, strict=True)
    ]
    connection.execute(statement, rows)


def read_feed(connection: Connection, after: int, limit: int) -> FeedBatch:
    """Up to ``limit`` durable changes after position ``after``, with each ref's current
    entity (call :func:`make_durable` first when :func:`behind_durable` says so); ``relist``
    when ``after`` is behind the tombstone window or beyond the feed's last position.

    The rows are read before the purge mark: a purge that commits in between is then seen,
    and the reader relists rather than miss a tombstone.
    """
    durable = _state(connection).durable
    rows = connection.execute(_feed_query(after, durable, limit)).all()
    state = _state(connection)
    if after < state.purged or after > state.last:
        # Behind the tombstone window, or ahead of every position handed out (the reader's
        # position belongs to another database: a restored or recreated one): relist.
        return FeedBatch(changes=(), next_position=state.durable, relist=True)
    changes = [
        FeedChange(position=int(row.position), ref=row.ref, entity=_entity_of(row)) for row in rows
    ]
    return FeedBatch(changes=changes, next_position=changes[-1].position if changes else after)


def behind_durable(connection: Connection, after: int) -> bool:
    """Positions were handed out that are not known durable yet and the answer to ``after``
    needs them (changes after it, or the head it relists from)."""
    state = _state(connection)
    # after > last: the answer is a relist from the head, which must be durable too
    return state.durable < state.last and after != state.last


def make_durable(connection: Connection) -> None:
    """Move ``durable_position`` up to ``last_position``, in the caller's transaction, which
    must commit synchronously (this sets it): once it has, every position up to the new mark
    is durable. Waits for the writer holding the feed's lock, if any."""
    if is_postgres(connection):
        connection.execute(text("SET LOCAL synchronous_commit = on"))
    connection.execute(
        update(feed_state)
        .where(feed_state.c.id == 1)
        .values(durable_position=feed_state.c.last_position)
    )


def _feed_query(after: int, durable: int, limit: int) -> Any:
    body = func.coalesce(catalog_entities.c.body, source_entities.c.body).label("body")
    return (
        select(change_feed.c.position, change_feed.c.ref, change_feed.c.content_hash, body)
        .select_from(
            change_feed.outerjoin(
                catalog_entities, catalog_entities.c.ref == change_feed.c.ref
            ).outerjoin(
                source_entities,
                (source_entities.c.ref == catalog_entities.c.ref)
                & (source_entities.c.source == catalog_entities.c.source),
            )
        )
        .where(change_feed.c.position > after, change_feed.c.position <= durable)
        .order_by(change_feed.c.position)
        .limit(limit)
    )


def _entity_of(row: Any) -> Any:
    return None if row.content_hash is None else row.body


class _FeedState(NamedTuple):
    last: int
    purged: int
    durable: int


def _state(connection: Connection) -> _FeedState:
    row = connection.execute(
        select(
            feed_state.c.last_position, feed_state.c.purged_position, feed_state.c.durable_position
        )
    ).first()
    return _FeedState(0, 0, 0) if row is None else _FeedState(*(int(value) for value in row))


def feed_position(connection: Connection, ref: str) -> int | None:
    """The position of ``ref``'s latest change, if the feed holds one."""
    return connection.execute(
        select(change_feed.c.position).where(change_feed.c.ref == ref)
    ).scalar_one_or_none()


def purge_tombstones(connection: Connection, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` tombstones older than ``before``; readers behind the newest one
    deleted will be told to relist. Returns how many were deleted."""
    doomed = (
        select(change_feed.c.position)
        .where(change_feed.c.content_hash.is_(None), change_feed.c.changed_at < before)
        .order_by(change_feed.c.changed_at)
        .limit(limit)
    )
    rows = connection.execute(doomed).all()
    if not rows:
        return 0
    lock_feed(connection)
    positions = [int(row.position) for row in rows]
    newest = max(positions)
    connection.execute(
        delete(change_feed).where(
            change_feed.c.position.in_(positions), change_feed.c.content_hash.is_(None)
        )
    )
    connection.execute(
        update(feed_state)
        .where(feed_state.c.id == 1, feed_state.c.purged_position < newest)
        .values(purged_position=newest)
    )
    return len(rows)
