"""Writes to the catalog: source records, winner pointers, removals.

The hot path of a pass is here. On PostgreSQL the per-page statements go through psycopg with
*binary* array parameters and ``unnest``: text-format arrays are escaped element by element in
Python and cost about five times more. Unchanged entities are recognised by fetching the stored
hashes for the page's refs first, so they cost no body transfer and no write at all.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, literal, or_, select

from catalog_ingest.contracts.storage import PreparedEntity
from models.dialect import column_in, driver_cursor, is_postgres, upsert_for
from models.tables import catalog_entities, source_entities

_SQLITE_CHUNK = 500
"""Stay far below SQLite's bound-parameter limit."""

_PG_FETCH_HASHES = """
SELECT ref, content_hash, priority FROM source_entities
WHERE source = %(source)s AND ref = ANY(%(refs)b)
"""

_PG_UPSERT_SOURCE = """
INSERT INTO source_entities AS s
    (source, ref, kind, namespace, name, body, content_hash, priority, expires_at, needs_emit,
     created_at, updated_at)
SELECT %(source)s, u.ref, u.kind, u.namespace, u.name, u.body::jsonb, u.hash, %(priority)s, NULL,
       true, %(now)s, %(now)s
FROM unnest(%(refs)b::text[], %(kinds)b::text[], %(namespaces)b::text[], %(names)b::text[],
            %(bodies)b::text[], %(hashes)b::text[]) AS u(ref, kind, namespace, name, body, hash)
ON CONFLICT (source, ref) DO UPDATE SET
    kind = excluded.kind, namespace = excluded.namespace, name = excluded.name,
    body = excluded.body, content_hash = excluded.content_hash, priority = excluded.priority,
    needs_emit = true, updated_at = excluded.updated_at
WHERE s.content_hash IS DISTINCT FROM excluded.content_hash OR s.priority <> excluded.priority
"""


StoredVersion = tuple[str, int]
"""(content hash, priority) of a stored source record."""


def _pg_page_params(
    source: str, entities: Sequence[PreparedEntity], priority: int, now: datetime
) -> dict[str, Any]:
    """Parameters of the page statements: one binary array per column (psycopg binds only the
    names a statement uses)."""
    return {
        "source": source,
        "priority": priority,
        "now": now,
        "refs": [e.ref for e in entities],
        "kinds": [e.kind for e in entities],
        "namespaces": [e.namespace for e in entities],
        "names": [e.name for e in entities],
        "bodies": [e.body_json for e in entities],
        "hashes": [e.content_hash for e in entities],
    }


def fetch_versions(
    connection: Connection, source: str, refs: Sequence[str]
) -> dict[str, StoredVersion]:
    """Stored hash and priority of ``source``'s records among ``refs``."""
    if not refs:
        return {}
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_FETCH_HASHES, {"source": source, "refs": list(refs)})
            return {ref: (content_hash, priority) for ref, content_hash, priority in cursor}
    found: dict[str, StoredVersion] = {}
    for start in range(0, len(refs), _SQLITE_CHUNK):
        chunk = refs[start : start + _SQLITE_CHUNK]
        rows = connection.execute(
            select(
                source_entities.c.ref, source_entities.c.content_hash, source_entities.c.priority
            ).where(source_entities.c.source == source, source_entities.c.ref.in_(chunk))
        )
        found.update((ref, (content_hash, priority)) for ref, content_hash, priority in rows)
    return found


def upsert_source_entities(
    connection: Connection,
    source: str,
    entities: Sequence[PreparedEntity],
    priority: int,
    now: datetime,
) -> None:
    """Insert or update ``source``'s records; rows whose hash is unchanged are not rewritten."""
    if not entities:
        return
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_UPSERT_SOURCE, _pg_page_params(source, entities, priority, now))
        return
    _sqlite_upsert_source(connection, source, entities, priority, now)


def _sqlite_upsert_source(
    connection: Connection,
    source: str,
    entities: Sequence[PreparedEntity],
    priority: int,
    now: datetime,
) -> None:
    statement = upsert_for(connection, source_entities)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[source_entities.c.source, source_entities.c.ref],
        set_={
            "kind": excluded.kind,
            "namespace": excluded.namespace,
            "name": excluded.name,
            "body": excluded.body,
            "content_hash": excluded.content_hash,
            "priority": excluded.priority,
            "needs_emit": True,
            "updated_at": excluded.updated_at,
        },
        where=or_(
            source_entities.c.content_hash != excluded.content_hash,
            source_entities.c.priority != excluded.priority,
        ),
    )
    rows = [
        {
            "source": source,
            "ref": e.ref,
            "kind": e.kind,
            "namespace": e.namespace,
            "name": e.name,
            "body": e.body,
            "content_hash": e.content_hash,
            "priority": priority,
            "expires_at": None,
            "needs_emit": True,
            "created_at": now,
            "updated_at": now,
        }
        for e in entities
    ]
    connection.execute(statement, rows)


def _live(now: datetime) -> Any:
    return or_(source_entities.c.expires_at.is_(None), source_entities.c.expires_at > now)


def remerge(
    connection: Connection, refs: Sequence[str], now: datetime, *, after_delete: bool = False
) -> None:
    """Point each ref's catalog entry at its winning live source record (or drop it).

    The winner is the highest priority, then the lowest source name, among unexpired records.
    A pointer whose source and hash are unchanged is not rewritten. Pointers can only lose
    their last source record when records were deleted (``after_delete``).
    """
    if not refs:
        return
    size = len(refs) if is_postgres(connection) else _SQLITE_CHUNK
    for start in range(0, len(refs), size):
        chunk = refs[start : start + size]
        if after_delete:
            _drop_orphaned_pointers(connection, chunk, now)
        _upsert_winners(connection, chunk, now)


def _drop_orphaned_pointers(connection: Connection, refs: Sequence[str], now: datetime) -> None:
    has_source = exists().where(source_entities.c.ref == catalog_entities.c.ref, _live(now))
    connection.execute(
        delete(catalog_entities).where(
            column_in(connection, catalog_entities.c.ref, refs), ~has_source
        )
    )


def _upsert_winners(connection: Connection, refs: Sequence[str], now: datetime) -> None:
    rank = (
        func.row_number()
        .over(
            partition_by=source_entities.c.ref,
            order_by=(source_entities.c.priority.desc(), source_entities.c.source),
        )
        .label("rank")
    )
    ranked = (
        select(
            source_entities.c.ref,
            source_entities.c.source,
            source_entities.c.content_hash,
            source_entities.c.priority,
            rank,
        )
        .where(column_in(connection, source_entities.c.ref, refs), _live(now))
        .subquery()
    )
    winners = select(
        ranked.c.ref,
        ranked.c.source,
        ranked.c.content_hash,
        ranked.c.priority,
        literal(now, catalog_entities.c.updated_at.type),
    ).where(ranked.c.rank == 1)
    statement = upsert_for(connection, catalog_entities).from_select(
        ["ref", "source", "content_hash", "priority", "updated_at"], winners
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[catalog_entities.c.ref],
        set_=_POINTER_COLUMNS(excluded),
        where=or_(
            catalog_entities.c.content_hash != excluded.content_hash,
            catalog_entities.c.source != excluded.source,
            catalog_entities.c.priority != excluded.priority,
        ),
    )
    connection.execute(statement)


def _POINTER_COLUMNS(excluded: Any) -> dict[str, Any]:
    return {
        "source": excluded.source,
        "content_hash": excluded.content_hash,
        "priority": excluded.priority,
        "updated_at": excluded.updated_at,
    }


_PG_CLAIM_POINTERS = """
INSERT INTO catalog_entities AS c (ref, source, content_hash, priority, updated_at)
SELECT u.ref, %(source)s, u.hash, %(priority)s, %(now)s
FROM unnest(%(refs)b::text[], %(hashes)b::text[]) AS u(ref, hash)
ON CONFLICT (ref) DO UPDATE SET
    source = excluded.source, content_hash = excluded.content_hash,
    priority = excluded.priority, updated_at = excluded.updated_at
WHERE (c.source = excluded.source AND c.content_hash <> excluded.content_hash)
   OR (c.source <> excluded.source AND (c.priority < excluded.priority
       OR (c.priority = excluded.priority AND c.source > excluded.source)))
"""


def claim_pointers(
    connection: Connection,
    source: str,
    entities: Sequence[PreparedEntity],
    priority: int,
    now: datetime,
) -> None:
    """Fast merge for records written with an unchanged priority: one upsert, no window query.

    Such a record either already is the winner (only its hash moves), or wins against the
    current winner by (priority, source), or loses and changes nothing. Records whose priority
    changed, and deletions, go through :func:`remerge`, which ranks every live source record.
    """
    if not entities:
        return
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_CLAIM_POINTERS, _pg_page_params(source, entities, priority, now))
        return
    statement = upsert_for(connection, catalog_entities)
    new = statement.excluded
    current = catalog_entities.c
    statement = statement.on_conflict_do_update(
        index_elements=[current.ref],
        set_=_POINTER_COLUMNS(new),
        where=or_(
            (current.source == new.source) & (current.content_hash != new.content_hash),
            (current.source != new.source)
            & (
                (current.priority < new.priority)
                | ((current.priority == new.priority) & (current.source > new.source))
            ),
        ),
    )
    rows = [
        {"ref": e.ref, "source": source, "content_hash": e.content_hash, "priority": priority,
         "updated_at": now}
        for e in entities
    ]  # fmt: skip
    connection.execute(statement, rows)


def delete_source_entities(
    connection: Connection, source: str, refs: Sequence[str], now: datetime
) -> int:
    """Delete ``source``'s records for ``refs`` and re-point the catalog; returns rows deleted."""
    if not refs:
        return 0
    result = connection.execute(
        delete(source_entities).where(
            and_(
                source_entities.c.source == source,
                column_in(connection, source_entities.c.ref, refs),
            )
        )
    )
    remerge(connection, refs, now, after_delete=True)
    return int(result.rowcount)
