"""The sweep: which entities a provider owns that the current pass never marked.

Removals are found by walking the provider's records in primary-key order, one window of refs
at a time, and looking each window up in the pass's marks by primary key. Every statement is an
index range or point lookup whose plan does not depend on planner statistics (a plain
anti-join does: with statistics taken before the pass marked anything, PostgreSQL picks a
nested loop that made a 200k-entity sweep take over an hour). A pass over N entities sweeps in
time linear in N, and a worker never holds more than one window of refs.
"""

from datetime import datetime

from sqlalchemy import Connection, case, func, select, update

from catalog_ingest.contracts.storage import RemovalPlan
from models.catalog_writes import delete_source_entities
from models.dialect import column_in, driver_cursor, is_postgres
from models.tables import ingestions, mark_entities, source_entities


def plan_removals(connection: Connection, ingestion_id: str, provider_name: str) -> RemovalPlan:
    """Counts for the guards, from two index scans.

    Every ref a pass marks is stored for the provider in the same transaction, and refs only
    leave the provider's records together with their mark (events), so the marked refs are a
    subset of the owned ones: removed = owned - marked. Everything unmarked existed before the
    pass, so previous = removed + marked refs flagged as pre-existing.
    """
    owned = connection.execute(
        select(func.count())
        .select_from(source_entities)
        .where(source_entities.c.source == provider_name)
    ).scalar_one()
    marked, kept = connection.execute(
        select(
            func.count(), func.coalesce(func.sum(case((mark_entities.c.existed, 1), else_=0)), 0)
        )
        .select_from(mark_entities)
        .where(mark_entities.c.ingestion_id == ingestion_id)
    ).one()
    removed = max(0, int(owned) - int(marked))
    return RemovalPlan(removed=removed, previous=removed + int(kept), marked=int(marked))


_PG_OWNED_WINDOW = """
SELECT ref FROM source_entities WHERE source = %(source)s AND ref > %(after)s
ORDER BY ref LIMIT %(limit)s
"""
_PG_MARKED_AMONG = """
SELECT ref FROM ingestion_mark_entities
WHERE ingestion_id = %(ingestion_id)s AND ref = ANY(%(refs)b)
"""


def _owned_window(
    connection: Connection, provider_name: str, after_ref: str | None, limit: int
) -> list[str]:
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            params = {"source": provider_name, "after": after_ref or "", "limit": limit}
            cursor.execute(_PG_OWNED_WINDOW, params)
            return [ref for (ref,) in cursor]
    query = (
        select(source_entities.c.ref)
        .where(source_entities.c.source == provider_name)
        .order_by(source_entities.c.ref)
        .limit(limit)
    )
    if after_ref is not None:
        query = query.where(source_entities.c.ref > after_ref)
    return list(connection.execute(query).scalars())


def _marked_among(connection: Connection, ingestion_id: str, refs: list[str]) -> set[str]:
    if is_postgres(connection):
        with driver_cursor(connection) as cursor:
            cursor.execute(_PG_MARKED_AMONG, {"ingestion_id": ingestion_id, "refs": refs})
            return {ref for (ref,) in cursor}
    query = select(mark_entities.c.ref).where(
        mark_entities.c.ingestion_id == ingestion_id,
        column_in(connection, mark_entities.c.ref, refs),
    )
    return set(connection.execute(query).scalars())


def remove_unmarked_batch(
    connection: Connection,
    ingestion_id: str,
    provider_name: str,
    after_ref: str | None,
    limit: int,
    now: datetime,
) -> tuple[int, str | None]:
    """Examine the next ``limit`` owned refs after ``after_ref``; delete the unmarked ones.

    Returns how many were removed and the last ref examined (``None`` when the walk is over).
    """
    window = _owned_window(connection, provider_name, after_ref, limit)
    if not window:
        return 0, None
    marked = _marked_among(connection, ingestion_id, window)
    unmarked = [ref for ref in window if ref not in marked]
    removed = delete_source_entities(connection, provider_name, unmarked, now)
    if removed:
        connection.execute(
            update(ingestions)
            .where(ingestions.c.id == ingestion_id)
            .values(removed=ingestions.c.removed + removed, updated_at=now)
        )
    return removed, window[-1]


def forget_source_batch(connection: Connection, source: str, limit: int, now: datetime) -> int:
    """Delete the first ``limit`` of ``source``'s records and re-point their catalog entries,
    as the sweep does; returns how many were deleted (0: none left)."""
    window = _owned_window(connection, source, None, limit)
    return delete_source_entities(connection, source, window, now)
