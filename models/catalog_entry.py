"""One ref's merged entity with the records behind it, for ``ingest explain``."""

from sqlalchemy import Connection, select

from catalog_ingest.contracts.catalog import CatalogEntry, SourceRecord
from models.catalog_reads import merged_body
from models.change_feed import feed_position
from models.tables import catalog_entities, source_entities


def catalog_entry(connection: Connection, ref: str) -> CatalogEntry | None:
    """``None`` when no source stores a record of ``ref``."""
    columns = source_entities.c
    records = [
        SourceRecord(
            source=row.source,
            priority=row.priority,
            body=row.body,
            content_hash=row.content_hash,
            replace=bool(row.merge_replace),
            expires_at=row.expires_at,
            updated_at=row.updated_at,
        )
        for row in connection.execute(
            select(source_entities)
            .where(columns.ref == ref)
            .order_by(columns.priority.desc(), columns.source)
        )
    ]
    if not records:
        return None
    merged = connection.execute(
        select(merged_body(), catalog_entities.c.content_hash, catalog_entities.c.conflict)
        .select_from(catalog_entities)
        .join(
            source_entities,
            (source_entities.c.ref == catalog_entities.c.ref)
            & (source_entities.c.source == catalog_entities.c.source),
        )
        .where(catalog_entities.c.ref == ref)
    ).first()
    return CatalogEntry(
        ref=ref,
        entity=None if merged is None else merged.body,
        content_hash=None if merged is None else merged.content_hash,
        records=records,
        conflict=None if merged is None else merged.conflict,
        feed_position=feed_position(connection, ref),
    )
