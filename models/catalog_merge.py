"""Re-merging the refs a write touched: k refs cost O(k), whatever the catalog's size.

For each ref: read its live records' ranking columns (no bodies), and the catalog's current
entry; a ref with one contributing record becomes (or stays) a pointer to it, with no body
read or written (the fast path); only refs with several contributors read their records'
bodies and merge them (:mod:`catalog_ingest.aggregation.resolution`). Entries that changed are
written, refs with no live record left are deleted, and every changed merged hash or removal
goes to the change feed, all in the caller's transaction, after :func:`lock_feed`
(see :mod:`models.change_feed` for why the lock comes before the reads).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, or_, select, update

from catalog_ingest.aggregation.resolution import Previous, Stored, keeps_body, resolve
from catalog_ingest.contracts.catalog import SourceRecord
from models.change_feed import Change, lock_feed, record_changes
from models.dialect import column_in, driver_cursor, is_postgres, upsert_for
from models.pointer_merge import Written, fast_merge
from models.tables import catalog_entities, source_entities

_SQLITE_CHUNK = 500

_PG_LIVE = """
SELECT s.ref, s.source, s.priority, s.content_hash, s.merge_replace{body}
FROM unnest(%(refs)b::text[]) AS u(ref)
CROSS JOIN LATERAL (
    SELECT * FROM source_entities s
    WHERE s.ref = u.ref AND (s.expires_at IS NULL OR s.expires_at > %(now)s){where}
    OFFSET 0
) AS s
"""
"""Live records of the refs, one index probe per ref (see :mod:`models.pointer_merge`)."""
_PG_LIVE_RANKS = _PG_LIVE.format(body="", where="")
_PG_LIVE_BODIES = _PG_LIVE.format(
    body=", s.body::text", where=" AND (s.source <> %(skip)s OR NOT s.ref = ANY(%(known)b))"
)
"""Bodies as text, parsed with orjson (psycopg's jsonb loader is the standard library's, some
three times slower); the records the caller already holds (``skip``'s of the ``known`` refs)
are not read again."""
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
    fed: list[Change] = []
    if written is not None and is_postgres(connection):
        candidates = [ref for ref in todo if ref in written.hashes]
        fast = fast_merge(connection, written, candidates, now, last + 1)
        fed = fast.changes
        todo = [ref for ref in todo if ref in fast.shared or ref not in written.hashes]
    changes: list[Change] = []
    size = max(len(todo), 1) if is_postgres(connection) else _SQLITE_CHUNK
    for start in range(0, len(todo), size):
        changes.extend(_merge_chunk(connection, todo[start : start + size], now, written))
    record_changes(connection, changes, last, now, already=len(fed))
    return fed + changes


def _merge_chunk(
    connection: Connection, refs: list[str], now: datetime, written: Written | None
) -> list[Change]:
    ranks = _live_ranks(connection, refs, now)
    current = _current(connection, refs)
    merging = [ref for ref in refs if _needs_bodies(ranks.get(ref, []))]
    bodies = _bodies(connection, merging, now, written)
    writes: list[tuple[str, Stored]] = []
    conflicts_only: list[tuple[str, str | None]] = []
    removed: list[str] = []
    changes: list[Change] = []
    for ref in refs:
        records = [
            _with_body(record, bodies.get((ref, record.source))) for record in ranks.get(ref, [])
        ]
        entry = current.get(ref)
        stored = resolve(ref, records, entry.previous if entry else None)
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


def _live_ranks(
    connection: Connection, refs: list[str], now: datetime
) -> dict[str, list[SourceRecord]]:
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_LIVE_RANKS, {"refs": refs, "now": now})
            rows: Iterable[Any] = cursor.fetchall()
    else:
        rows = connection.execute(
            select(
                source_entities.c.ref,
                source_entities.c.source,
                source_entities.c.priority,
                source_entities.c.content_hash,
                source_entities.c.merge_replace,
            ).where(column_in(connection, source_entities.c.ref, refs), live(now))
        ).all()
    ranks: dict[str, list[SourceRecord]] = defaultdict(list)
    for ref, source, priority, content_hash, replace in rows:
        ranks[ref].append(SourceRecord(source, priority, {}, content_hash, bool(replace)))
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


def _bodies(
    connection: Connection, refs: list[str], now: datetime, written: Written | None
) -> dict[tuple[str, str], Any]:
    """(ref, source) -> body of the live records of ``refs``; those just written are taken
    from ``written`` rather than read back."""
    if not refs:
        return {}
    source = "" if written is None else written.source
    held = [] if written is None else [ref for ref in refs if ref in written.bodies]
    known = {(ref, source): written.bodies[ref] for ref in held} if written else {}
    if is_postgres(connection):
        params = {"refs": refs, "now": now, "skip": source, "known": held}
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_LIVE_BODIES, params)
            return known | {(row[0], row[1]): orjson.loads(row[5]) for row in cursor}
    rows = connection.execute(
        select(source_entities.c.ref, source_entities.c.source, source_entities.c.body).where(
            column_in(connection, source_entities.c.ref, refs), live(now)
        )
    )
    return {(ref, source): body for ref, source, body in rows} | known


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
