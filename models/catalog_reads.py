"""Reading the catalog back: streamed in keyset-ordered batches, constant memory on any size.

A catalog row holds the merged body only when several records contribute to it; otherwise it
points at its single record, so every read of the merged catalog joins the row with its top
source record and takes :func:`merged_body`.
"""

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from models.dialect import column_in
from models.tables import catalog_entities, source_entities

EXPORT_BATCH = 1000


def iter_entities(
    engine: Engine, provider: str | None = None, batch: int = EXPORT_BATCH
) -> Iterator[dict[str, Any]]:
    """Entities in ref order: the merged catalog, or one provider's own records."""
    after: str | None = None
    while True:
        rows = _batch(engine, provider, after, batch)
        if not rows:
            return
        yield from (body for _ref, body in rows)
        after = rows[-1][0]


def _batch(
    engine: Engine, provider: str | None, after: str | None, batch: int
) -> list[tuple[str, Any]]:
    if provider is None:
        statement = select(catalog_entities.c.ref, merged_body()).join(
            source_entities,
            (catalog_entities.c.ref == source_entities.c.ref)
            & (catalog_entities.c.source == source_entities.c.source),
        )
        order = catalog_entities.c.ref
    else:
        statement = select(source_entities.c.ref, source_entities.c.body).where(
            source_entities.c.source == provider
        )
        order = source_entities.c.ref
    if after is not None:
        statement = statement.where(order > after)
    with engine.connect() as connection:
        result = connection.execute(statement.order_by(order).limit(batch))
        return [(row[0], row[1]) for row in result]


def merged_body() -> Any:
    """The merged entity of a catalog row joined with its top source record: the stored merged
    body, or the record itself when it is the only contributor (a pointer)."""
    return func.coalesce(catalog_entities.c.body, source_entities.c.body).label("body")


def count_by_kind(engine: Engine, provider: str | None = None) -> dict[str, int]:
    """Entity counts per kind in the merged catalog (or one provider's records)."""
    statement = select(source_entities.c.kind, func.count()).group_by(source_entities.c.kind)
    if provider is None:
        statement = statement.join(
            catalog_entities,
            (catalog_entities.c.ref == source_entities.c.ref)
            & (catalog_entities.c.source == source_entities.c.source),
        )
    else:
        statement = statement.where(source_entities.c.source == provider)
    with engine.connect() as connection:
        return {kind: int(count) for kind, count in connection.execute(statement)}


def source_bodies(connection: Connection, source: str, refs: Sequence[str]) -> dict[str, Any]:
    """``source``'s own records among ``refs`` (ref -> body), by primary key."""
    if not refs:
        return {}
    rows = connection.execute(
        select(source_entities.c.ref, source_entities.c.body).where(
            source_entities.c.source == source,
            column_in(connection, source_entities.c.ref, list(refs)),
        )
    )
    return {ref: body for ref, body in rows}


def records_by_source(
    connection: Connection, excluded: Collection[str] = ()
) -> list[tuple[str, int]]:
    """How many records each source stores, sources in ``excluded`` left out, by name.

    One scan of the primary key: ``ingest status`` uses it to find sources no configured
    provider owns (a renamed or removed provider's records, still winning the merge).
    """
    statement = (
        select(source_entities.c.source, func.count())
        .group_by(source_entities.c.source)
        .order_by(source_entities.c.source)
    )
    if excluded:
        statement = statement.where(source_entities.c.source.not_in(list(excluded)))
    return [(source, int(count)) for source, count in connection.execute(statement)]
