"""Writes of source records and their removal; the catalog follows in :mod:`.catalog_merge`.

The hot path of a pass is here. On PostgreSQL the per-page statements go through psycopg with
*binary* array parameters and ``unnest``: text-format arrays are escaped element by element in
Python and cost about five times more. Unchanged entities are recognised by fetching the stored
hashes for the page's refs first, so they cost no body transfer and no write at all (a source
with a TTL only moves their expiry).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, select, update

from catalog_ingest.contracts.storage import PreparedEntity
from models.catalog_merge import merge_refs
from models.dialect import column_in, driver_cursor, is_postgres, upsert_for
from models.tables import source_entities

_SQLITE_CHUNK = 500
"""Stay far below SQLite's bound-parameter limit."""

_PG_FETCH_HASHES = """
SELECT s.ref, s.content_hash, s.priority, s.merge_replace, s.expires_at
FROM unnest(%(refs)b::text[]) AS u(ref)
CROSS JOIN LATERAL (
    SELECT * FROM source_entities s WHERE s.source = %(source)s AND s.ref = u.ref OFFSET 0
) AS s
"""
"""One primary-key probe per ref. ``ref = ANY(array)`` is at the mercy of the plan: a custom
plan without statistics took the source's rows by ``source = ...`` alone and filtered every
one of them against the array, a scan of the whole source for each page."""

_PG_UPSERT_SOURCE = """
INSERT INTO source_entities AS s
    (source, ref, kind, namespace, name, body, content_hash, priority, expires_at, merge_replace,
     created_at, updated_at)
SELECT %(source)s, u.ref, u.kind, u.namespace, u.name, u.body::jsonb, u.hash, %(priority)s,
       %(expires_at)s, %(replace)s, %(now)s, %(now)s
FROM unnest(%(refs)b::text[], %(kinds)b::text[], %(namespaces)b::text[], %(names)b::text[],
            %(bodies)b::text[], %(hashes)b::text[]) AS u(ref, kind, namespace, name, body, hash)
ON CONFLICT (source, ref) DO UPDATE SET
    kind = excluded.kind, namespace = excluded.namespace, name = excluded.name,
    body = excluded.body, content_hash = excluded.content_hash, priority = excluded.priority,
    expires_at = excluded.expires_at, merge_replace = excluded.merge_replace,
    updated_at = excluded.updated_at
"""


class StoredVersion(NamedTuple):
    """What decides whether a stored source record is rewritten, and whether it is live."""

    content_hash: str
    priority: int
    replace: bool
    expires_at: datetime | None

    def same(self, content_hash: str, priority: int, replace: bool) -> bool:
        """The record as stored would be written again unchanged (expiry aside)."""
        return (self.content_hash, self.priority, self.replace) == (content_hash, priority, replace)


def _pg_page_params(
    source: str,
    entities: Sequence[PreparedEntity],
    priority: int,
    now: datetime,
    expires_at: datetime | None,
    replace: bool,
) -> dict[str, Any]:
    """Parameters of the page statements: one binary array per column (psycopg binds only the
    names a statement uses)."""
    return {
        "source": source,
        "priority": priority,
        "now": now,
        "expires_at": expires_at,
        "replace": replace,
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
            return {ref: StoredVersion(*version) for ref, *version in cursor}
    found: dict[str, StoredVersion] = {}
    columns = source_entities.c
    for start in range(0, len(refs), _SQLITE_CHUNK):
        chunk = refs[start : start + _SQLITE_CHUNK]
        rows = connection.execute(
            select(
                columns.ref,
                columns.content_hash,
                columns.priority,
                columns.merge_replace,
                columns.expires_at,
            ).where(columns.source == source, columns.ref.in_(chunk))
        )
        found.update((ref, StoredVersion(*version)) for ref, *version in rows)
    return found


def upsert_source_entities(
    connection: Connection,
    source: str,
    entities: Sequence[PreparedEntity],
    priority: int,
    now: datetime,
    expires_at: datetime | None = None,
    replace: bool = False,
) -> None:
    """Insert or update ``source``'s records (the caller left out the unchanged ones)."""
    if not entities:
        return
    if is_postgres(connection):
        params = _pg_page_params(source, entities, priority, now, expires_at, replace)
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_UPSERT_SOURCE, params)
        return
    _sqlite_upsert_source(connection, source, entities, priority, now, expires_at, replace)


def set_expiry(
    connection: Connection, source: str, refs: Sequence[str], expires_at: datetime | None
) -> set[str]:
    """Move the expiry of ``source``'s records of ``refs`` (refreshed, content unchanged);
    returns the refs updated (a record the expiry task deleted meanwhile is not)."""
    updated: set[str] = set()
    for start in range(0, len(refs), _SQLITE_CHUNK):
        result = connection.execute(
            update(source_entities)
            .where(
                source_entities.c.source == source,
                column_in(connection, source_entities.c.ref, refs[start : start + _SQLITE_CHUNK]),
            )
            .values(expires_at=expires_at)
            .returning(source_entities.c.ref)
        )
        updated.update(result.scalars())
    return updated


def _sqlite_upsert_source(
    connection: Connection,
    source: str,
    entities: Sequence[PreparedEntity],
    priority: int,
    now: datetime,
    expires_at: datetime | None,
    replace: bool,
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
            "expires_at": excluded.expires_at,
            "merge_replace": excluded.merge_replace,
            "updated_at": excluded.updated_at,
        },
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
            "expires_at": expires_at,
            "merge_replace": replace,
            "created_at": now,
            "updated_at": now,
        }
        for e in entities
    ]
    connection.execute(statement, rows)


def delete_source_entities(
    connection: Connection, source: str, refs: Sequence[str], now: datetime, *, merge: bool = True
) -> int:
    """Delete ``source``'s records for ``refs`` and re-merge their catalog entries (unless the
    caller merges them later in the transaction); returns rows deleted."""
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
    if merge:
        merge_refs(connection, refs, now)
    return int(result.rowcount)
