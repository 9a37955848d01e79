"""The sweep in SQL: which entities a provider owns that the current pass never marked.

Both queries are anti-joins on indexed keys (``source_entities`` primary key
``(source, ref)`` against ``ingestion_mark_entities`` primary key ``(ingestion_id, ref)``), so a
pass over N entities sweeps in time linear in N. Removals are read in keyset-ordered batches:
a worker never holds more than one batch of refs.
"""

from datetime import datetime

from sqlalchemy import Connection, case, func, select, update

from catalog_ingest.repository import RemovalPlan
from models.catalog_writes import delete_source_entities
from models.tables import ingestions, mark_entities, source_entities


def _unmarked(ingestion_id: str, provider_name: str):  # type: ignore[no-untyped-def]
    marked = (
        select(mark_entities.c.ref)
        .where(
            mark_entities.c.ingestion_id == ingestion_id,
            mark_entities.c.ref == source_entities.c.ref,
        )
        .exists()
    )
    return select(source_entities.c.ref).where(source_entities.c.source == provider_name, ~marked)


def plan_removals(connection: Connection, ingestion_id: str, provider_name: str) -> RemovalPlan:
    """Counts for the guards. Everything unmarked existed before the pass (whatever the pass
    created it also marked), so previous = removed + marked refs flagged as pre-existing."""
    removed_query = _unmarked(ingestion_id, provider_name).subquery()
    removed = connection.execute(select(func.count()).select_from(removed_query)).scalar_one()
    marked, kept = connection.execute(
        select(
            func.count(), func.coalesce(func.sum(case((mark_entities.c.existed, 1), else_=0)), 0)
        )
        .select_from(mark_entities)
        .where(mark_entities.c.ingestion_id == ingestion_id)
    ).one()
    return RemovalPlan(removed=int(removed), previous=int(removed) + int(kept), marked=int(marked))


def remove_unmarked_batch(
    connection: Connection,
    ingestion_id: str,
    provider_name: str,
    after_ref: str | None,
    limit: int,
    now: datetime,
) -> tuple[int, str | None]:
    """Delete the next ``limit`` unmarked refs (in ref order after ``after_ref``)."""
    query = _unmarked(ingestion_id, provider_name).order_by(source_entities.c.ref).limit(limit)
    if after_ref is not None:
        query = query.where(source_entities.c.ref > after_ref)
    refs = list(connection.execute(query).scalars())
    if not refs:
        return 0, None
    removed = delete_source_entities(connection, provider_name, refs, now)
    connection.execute(
        update(ingestions)
        .where(ingestions.c.id == ingestion_id)
        .values(removed=ingestions.c.removed + removed, updated_at=now)
    )
    return removed, refs[-1]
