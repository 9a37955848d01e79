"""The projector: applies the change feed to the read API's projection (``catalog_search``,
``catalog_search_entities``), so ingestion's hot path pays nothing for the read API.

It reads ``change_feed`` after its stored position, in position order, up to the feed's
durable position (positions become visible in commit order: see :mod:`models.change_feed`),
and replaces the rows of each changed ref in one transaction per batch, moving its position
with them. The state row's lock (an upsert that takes it) makes one projector at a time: the
Celery task and readers that catch up before answering queue on it, and each re-reads the
position once it holds the lock.

The feed keeps one row per live ref forever; only tombstones are purged. So a projector that
falls behind a purge has missed removals only: it drops every projected ref that the catalog
no longer holds (one anti-join) and carries on from its position. A feed whose head is behind
the projection was reset (a cleared database): the projection starts over.
"""

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, delete, insert, select

from models.change_feed import behind_durable, make_durable
from models.dialect import driver_cursor, is_postgres, upsert_for
from models.search_queries import bodies
from models.search_rows import search_rows
from models.tables import (
    catalog_entities,
    change_feed,
    feed_state,
    search,
    search_entities,
    search_state,
)

BATCH = 1000
"""Changes per transaction: about 12 search rows each for a typical entity."""


class _Change(NamedTuple):
    position: int
    ref: str
    entity: Any
    """The merged entity; None: the ref left the catalog."""


class _Marks(NamedTuple):
    projected: int
    purged_seen: int
    last: int
    durable: int
    purged: int


def lag(engine: Engine) -> int:
    """How many positions the feed has handed out beyond the projection (two row reads)."""
    with engine.connect() as connection:
        marks = _marks(connection)
    return max(0, marks.last - marks.projected)


def catch_up(engine: Engine, budget_seconds: float, batch: int = BATCH) -> int:
    """Project batches until the projection holds every position handed out when called (or
    ``budget_seconds`` have passed); returns how many changes it applied."""
    with engine.connect() as connection:
        marks = _marks(connection)
    if marks.projected == marks.last:
        return 0
    deadline = time.monotonic() + budget_seconds
    applied = 0
    while time.monotonic() < deadline:
        done, position = project_batch(engine, batch)
        applied += done
        if done == 0 or position >= marks.last:
            break
    return applied


def project_batch(engine: Engine, batch: int = BATCH) -> tuple[int, int]:
    """Apply up to ``batch`` changes in one transaction; returns (applied, new position)."""
    with engine.connect() as connection:
        behind = behind_durable(connection, _marks(connection).projected)
    if behind:
        with engine.begin() as connection:
            make_durable(connection)
    with engine.begin() as connection:
        position, purged_seen = _lock_state(connection)
        marks = _marks(connection)
        if marks.last < position:
            _clear(connection)
            position = purged_seen = 0
        if marks.purged > max(position, purged_seen):
            _drop_removed(connection)
            purged_seen = marks.purged
        changes = _read_changes(connection, position, marks.durable, batch)
        if changes:
            _apply(connection, changes)
            position = changes[-1].position
        if len(changes) < batch:  # read up to the durable mark: the rest were purged tombstones
            position = max(position, marks.durable)
        _store_state(connection, position, purged_seen)
        return len(changes), position


def _marks(connection: Connection) -> _Marks:
    state = connection.execute(
        select(search_state.c.position, search_state.c.purged_position).where(
            search_state.c.id == 1
        )
    ).first()
    feed = connection.execute(
        select(
            feed_state.c.last_position, feed_state.c.durable_position, feed_state.c.purged_position
        ).where(feed_state.c.id == 1)
    ).first()
    projected, purged_seen = (0, 0) if state is None else (int(state[0]), int(state[1]))
    last, durable, purged = (0, 0, 0) if feed is None else (int(value) for value in feed)
    return _Marks(projected, purged_seen, last, durable, purged)


def _lock_state(connection: Connection) -> tuple[int, int]:
    """Take the projection's lock for the transaction (creating its row when missing)."""
    statement = upsert_for(connection, search_state).values(id=1, position=0, purged_position=0)
    statement = statement.on_conflict_do_update(
        index_elements=[search_state.c.id], set_={"position": search_state.c.position}
    ).returning(search_state.c.position, search_state.c.purged_position)
    row = connection.execute(statement).one()
    return int(row[0]), int(row[1])


def _store_state(connection: Connection, position: int, purged_seen: int) -> None:
    connection.execute(
        search_state.update()
        .where(search_state.c.id == 1)
        .values(position=position, purged_position=purged_seen)
    )


def _read_changes(connection: Connection, after: int, durable: int, limit: int) -> list[_Change]:
    """The next changes (a range of the position index), then their entities by primary key:
    two plain index lookups, whatever the planner's statistics say right after a bulk load
    (one joined statement was planned as a hash join over whole tables then)."""
    statement = (
        select(change_feed.c.position, change_feed.c.ref, change_feed.c.content_hash)
        .where(change_feed.c.position > after, change_feed.c.position <= durable)
        .order_by(change_feed.c.position)
        .limit(limit)
    )
    rows = connection.execute(statement).all()
    entities = bodies(connection, [row.ref for row in rows if row.content_hash is not None])
    return [
        _Change(
            int(row.position), row.ref, None if row.content_hash is None else entities.get(row.ref)
        )
        for row in rows
    ]


def _clear(connection: Connection) -> None:
    connection.execute(delete(search))
    connection.execute(delete(search_entities))


def _drop_removed(connection: Connection) -> None:
    """Drop projected refs the catalog no longer holds (removals whose tombstones were purged
    before the projector read them)."""
    gone = (
        ~select(catalog_entities.c.ref)
        .where(catalog_entities.c.ref == search_entities.c.ref)
        .exists()
    )
    refs = select(search_entities.c.ref).where(gone)
    connection.execute(delete(search).where(search.c.ref.in_(refs)))
    connection.execute(delete(search_entities).where(gone))


def _apply(connection: Connection, changes: Sequence[_Change]) -> None:
    refs = [change.ref for change in changes]
    live = [change for change in changes if change.entity is not None]
    rows = [
        (change.ref, row.key, row.ordinal, row.value, row.original_value)
        for change in live
        for row in search_rows(change.entity)
    ]
    entities = [(change.ref, change.ref.lower()) for change in live]
    if is_postgres(connection):
        _apply_postgres(connection, refs, rows, entities)
    else:
        _apply_portable(connection, refs, rows, entities)


_PG_DELETE_SEARCH = "DELETE FROM catalog_search WHERE ref = ANY(%(refs)b::text[])"
_PG_DELETE_ENTITIES = "DELETE FROM catalog_search_entities WHERE ref = ANY(%(refs)b::text[])"
_PG_INSERT_SEARCH = """
INSERT INTO catalog_search (ref, key, ordinal, value, original_value)
SELECT * FROM unnest(%(refs)b::text[], %(keys)b::text[], %(ordinals)b::int[],
                     %(values)b::text[], %(originals)b::text[])
"""
_PG_INSERT_ENTITIES = """
INSERT INTO catalog_search_entities (ref, lookup)
SELECT * FROM unnest(%(refs)b::text[], %(lookups)b::text[])
"""


def _apply_postgres(
    connection: Connection,
    refs: list[str],
    rows: list[tuple[str, str, int, str | None, str | None]],
    entities: list[tuple[str, str]],
) -> None:
    with driver_cursor(connection) as cursor:
        cursor.execute(_PG_DELETE_SEARCH, {"refs": refs})
        cursor.execute(_PG_DELETE_ENTITIES, {"refs": refs})
        if rows:
            columns = list(zip(*rows, strict=True))
            cursor.execute(
                _PG_INSERT_SEARCH,
                {
                    "refs": list(columns[0]),
                    "keys": list(columns[1]),
                    "ordinals": list(columns[2]),
                    "values": list(columns[3]),
                    "originals": list(columns[4]),
                },
            )
        if entities:
            cursor.execute(
                _PG_INSERT_ENTITIES,
                {"refs": [ref for ref, _ in entities], "lookups": [low for _, low in entities]},
            )


def _apply_portable(
    connection: Connection,
    refs: list[str],
    rows: list[tuple[str, str, int, str | None, str | None]],
    entities: list[tuple[str, str]],
) -> None:
    connection.execute(delete(search).where(search.c.ref.in_(refs)))
    connection.execute(delete(search_entities).where(search_entities.c.ref.in_(refs)))
    if rows:
        names = ("ref", "key", "ordinal", "value", "original_value")
        connection.execute(insert(search), [dict(zip(names, row, strict=True)) for row in rows])
    if entities:
        connection.execute(
            insert(search_entities), [{"ref": ref, "lookup": low} for ref, low in entities]
        )
