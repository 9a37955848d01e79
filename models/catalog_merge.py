"""Re-merging the refs a write touched: k refs cost O(k), whatever the catalog's size.

For each ref: its live records and the catalog's current entry; a ref with one contributing
record becomes (or stays) a pointer to it, with no body read or written (the fast path); only
refs with several contributors have their records' bodies read and merged
(:mod:`catalog_ingest.aggregation.resolution`). Entries that changed are written, refs with no
live record left are deleted, and every changed merged hash or removal goes to the change
feed, all in the caller's transaction, after :func:`lock_feed` (see :mod:`models.change_feed`
for why the lock comes before the reads).

On PostgreSQL the records just written go through :func:`models.pointer_merge.fast_merge`,
which also returns the other sources' records of the refs they share; the other refs (records
deleted, expired) are read here in one statement, bodies only where several records
contribute.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, or_, select, update

from catalog_ingest.aggregation.resolution import Previous, Stored, keeps_body, resolve
from catalog_ingest.contracts.catalog import SourceRecord
from models.change_feed import Change, lock_feed, record_changes
from models.dialect import column_in, driver_cursor, is_postgres, upsert_for
from models.pointer_merge import Written, fast_merge, stored_record
from models.tables import catalog_entities, source_entities

_SQLITE_CHUNK = 500

_PG_LIVE_RECORDS = """
SELECT s.ref, s.source, s.priority, s.content_hash, s.merge_replace,
       CASE WHEN NOT s.merge_replace AND count(*) OVER (PARTITION BY s.ref) > 1
            THEN s.body::text END
FROM unnest(%(refs)b::text[]) AS u(ref)
CROSS JOIN LATERAL (
    SELECT * FROM source_entities s
    WHERE s.ref = u.ref AND (s.expires_at IS NULL OR s.expires_at > %(now)s)
    OFFSET 0
) AS s
"""
"""Live records of the refs, one index probe per ref (see :mod:`models.pointer_merge`), with
the body (as text, parsed with orjson) of each record that may contribute to a real merge:
several records, and not a ``replace`` one (whole or nothing: never merged)."""
_PG_PREVIOUS = """
SELECT c.ref, c.source, c.content_hash, c.priority, c.body IS NOT NULL, c.conflict
FROM unnest(%(refs)b::text[]) AS u(ref)
CROSS JOIN LATERAL (SELECT * FROM catalog_entities c WHERE c.ref = u.ref OFFSET 0) AS c
"""
_PG_DELETE = """
DELETE FROM catalog_entities WHERE ctid = ANY(ARRAY(
    SELECT c.ctid FROM unnest(%(refs)b::text[]) AS u(ref)
    CROSS JOIN LATERAL (SELECT ctid FROM catalog_entities c WHERE c.ref = u.ref OFFSET 0) AS c
))
"""
"""Found by primary key one ref at a time, deleted by row address (a TID scan)."""
_PG_UPSERT_CATALOG = """
INSERT INTO catalog_entities AS c (ref, source, content_hash, priority, updated_at, body, conflict)
SELECT u.ref, u.source, u.hash, u.priority, %(now)s, u.body::jsonb, u.conflict
FROM unnest(%(refs)b::text[], %(sources)b::text[], %(hashes)b::text[], %(priorities)b::int[],
            %(bodies)b::text[], %(conflicts)b::text[])
     AS u(ref, source, hash, priority, body, conflict)
ON CONFLICT (ref) DO UPDATE SET
    source = excluded.source, content_hash = excluded.content_hash,
    priority = excluded.priority, updated_at = excluded.updated_at, body = excluded.body,
    conflict = excluded.conflict
"""


class _Current:
    """The catalog entry as read: what :func:`resolve` compares with, plus what is shown."""

    __slots__ = ("conflict", "previous", "priority")

    def __init__(self, previous: Previous, priority: int, conflict: str | None) -> None:
        self.previous, self.priority, self.conflict = previous, priority, conflict


def merge_refs(
    connection: Connection, refs: Iterable[str], now: datetime, written: Written | None = None
) -> list[Change]:
    """Bring the catalog entries of ``refs`` up to date with their live records; returns the
    changes recorded in the feed (ref, new hash or ``None`` for a removal). ``written``: the
    records just written, whose refs no other source shares take the fast path (PostgreSQL)."""
    todo = sorted(set(refs))
    if not todo:
        return []
    last = lock_feed(connection)
    if is_postgres(connection):
        fed, changes = _pg_merge(connection, todo, now, written, last + 1)
    else:
        fed, changes = [], _sqlite_merge(connection, todo, now, written)
    record_changes(connection, changes, last, now, already=len(fed))
    return fed + changes


def _pg_merge(
    connection: Connection, refs: list[str], now: datetime, written: Written | None, first: int
) -> tuple[list[Change], list[Change]]:
    """The fast path's changes (already in the feed from ``first`` on), and the others'."""
    fed: list[Change] = []
    records: dict[str, list[SourceRecord]] = {}
    rest = refs
    if written is not None:
        fast = fast_merge(
            connection, written, [ref for ref in refs if ref in written.hashes], now, first
        )
        fed, records = fast.changes, fast.shared
        rest = [ref for ref in refs if ref not in written.hashes]
    records.update(_pg_records(connection, rest, now))
    return fed, _merge_chunk(connection, sorted({*records, *rest}), records, now)


def _sqlite_merge(
    connection: Connection, refs: list[str], now: datetime, written: Written | None
) -> list[Change]:
    """In chunks that stay below SQLite's bound-parameter limit."""
    changes: list[Change] = []
    for start in range(0, len(refs), _SQLITE_CHUNK):
        chunk = refs[start : start + _SQLITE_CHUNK]
        records = _sqlite_records(connection, chunk, now, written)
        changes.extend(_merge_chunk(connection, chunk, records, now))
    return changes


def _merge_chunk(
    connection: Connection,
    refs: list[str],
    records: Mapping[str, list[SourceRecord]],
    now: datetime,
) -> list[Change]:
    """Merge ``refs`` given their live ``records`` (bodies present where several contribute);
    a ref without records leaves the catalog."""
    current = _current(connection, refs)
    writes: list[tuple[str, Stored]] = []
    conflicts_only: list[tuple[str, str | None]] = []
    removed: list[str] = []
    changes: list[Change] = []
    for ref in refs:
        entry = current.get(ref)
        stored = resolve(ref, records.get(ref, []), entry.previous if entry else None)
        if stored is None:
            if entry is not None:
                removed.append(ref)
                changes.append((ref, None))
            continue
        if keeps_body(stored, entry.previous if entry else None):
            if entry is not None and entry.conflict != stored.conflict:
                conflicts_only.append((ref, stored.conflict))
            continue
        if entry is None or _differs(stored, entry):
            writes.append((ref, stored))
        if entry is None or entry.previous.content_hash != stored.content_hash:
            changes.append((ref, stored.content_hash))
    _delete(connection, removed)
    _write(connection, writes, now)
    _write_conflicts(connection, conflicts_only, now)
    return changes


def _needs_bodies(records: Sequence[SourceRecord]) -> bool:
    """Several records, none of them a ``replace`` source ranked first: a real merge."""
    if len(records) < 2:
        return False
    top = min(records, key=lambda record: (-record.priority, record.source))
    return not top.replace


def _with_body(record: SourceRecord, body: Any) -> SourceRecord:
    if body is None:
        return record
    return SourceRecord(record.source, record.priority, body, record.content_hash, record.replace)


def _differs(stored: Stored, entry: _Current) -> bool:
    previous = entry.previous
    return (
        previous.source != stored.source
        or previous.content_hash != stored.content_hash
        or previous.has_body != (stored.body_json is not None)
        or entry.priority != stored.priority
        or entry.conflict != stored.conflict
    )


def _pg_records(
    connection: Connection, refs: list[str], now: datetime
) -> dict[str, list[SourceRecord]]:
    """The live records of ``refs``, bodies where several records may contribute."""
    records: dict[str, list[SourceRecord]] = defaultdict(list)
    if not refs:
        return records
    with driver_cursor(connection) as cursor:
        cursor.execute(_PG_LIVE_RECORDS, {"refs": refs, "now": now})
        for ref, source, priority, content_hash, replace, body in cursor:
            records[ref].append(stored_record(source, priority, content_hash, replace, body))
    return records


def _sqlite_records(
    connection: Connection, refs: list[str], now: datetime, written: Written | None
) -> dict[str, list[SourceRecord]]:
    """The live records of ``refs``: their ranking columns first, then the bodies of the refs
    that really merge (those just written are taken from ``written``, not read back)."""
    s = source_entities.c
    rows = connection.execute(
        select(s.ref, s.source, s.priority, s.content_hash, s.merge_replace).where(
            column_in(connection, s.ref, refs), live(now)
        )
    ).all()
    ranks: dict[str, list[SourceRecord]] = defaultdict(list)
    for ref, source, priority, content_hash, replace in rows:
        ranks[ref].append(SourceRecord(source, priority, {}, content_hash, bool(replace)))
    merging = [ref for ref in refs if _needs_bodies(ranks.get(ref, []))]
    if not merging:
        return ranks
    bodies = {
        (ref, source): body
        for ref, source, body in connection.execute(
            select(s.ref, s.source, s.body).where(column_in(connection, s.ref, merging), live(now))
        )
    }
    if written is not None:
        bodies.update(
            ((ref, written.source), written.bodies[ref]) for ref in merging if ref in written.bodies
        )
    for ref in merging:
        ranks[ref] = [_with_body(record, bodies.get((ref, record.source))) for record in ranks[ref]]
    return ranks


def _current(connection: Connection, refs: list[str]) -> dict[str, _Current]:
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_PREVIOUS, {"refs": refs})
            rows: Iterable[Any] = cursor.fetchall()
    else:
        c = catalog_entities.c
        rows = connection.execute(
            select(
                c.ref, c.source, c.content_hash, c.priority, c.body.is_not(None), c.conflict
            ).where(column_in(connection, c.ref, refs))
        ).all()
    return {
        ref: _Current(Previous(source, content_hash, bool(has_body)), priority, conflict)
        for ref, source, content_hash, priority, has_body, conflict in rows
    }


def live(now: datetime) -> Any:
    """A source record that has not expired."""
    return or_(source_entities.c.expires_at.is_(None), source_entities.c.expires_at > now)


def _delete(connection: Connection, refs: list[str]) -> None:
    if not refs:
        return
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_DELETE, {"refs": refs})
        return
    connection.execute(
        delete(catalog_entities).where(column_in(connection, catalog_entities.c.ref, refs))
    )


def _write(connection: Connection, writes: list[tuple[str, Stored]], now: datetime) -> None:
    if not writes:
        return
    if is_postgres(connection):
        params = {
            "now": now,
            "refs": [ref for ref, _ in writes],
            "sources": [stored.source for _, stored in writes],
            "hashes": [stored.content_hash for _, stored in writes],
            "priorities": [stored.priority for _, stored in writes],
            "bodies": [stored.body_json for _, stored in writes],
            "conflicts": [stored.conflict for _, stored in writes],
        }
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_UPSERT_CATALOG, params)
        return
    _sqlite_write(connection, writes, now)


def _sqlite_write(connection: Connection, writes: list[tuple[str, Stored]], now: datetime) -> None:
    statement = upsert_for(connection, catalog_entities)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[catalog_entities.c.ref],
        set_={
            "source": new.source,
            "content_hash": new.content_hash,
            "priority": new.priority,
            "updated_at": new.updated_at,
            "body": new.body,
            "conflict": new.conflict,
        },
    )
    rows = [
        {
            "ref": ref,
            "source": stored.source,
            "content_hash": stored.content_hash,
            "priority": stored.priority,
            "updated_at": now,
            "body": None if stored.body_json is None else orjson.loads(stored.body_json),
            "conflict": stored.conflict,
        }
        for ref, stored in writes
    ]
    connection.execute(statement, rows)


def _write_conflicts(
    connection: Connection, conflicts: list[tuple[str, str | None]], now: datetime
) -> None:
    for ref, conflict in conflicts:
        connection.execute(
            update(catalog_entities)
            .where(catalog_entities.c.ref == ref)
            .values(conflict=conflict, updated_at=now)
        )
