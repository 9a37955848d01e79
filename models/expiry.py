"""Dropping expired source records and re-merging their refs.

A record expires at its last refresh plus its source's TTL (``expires_at``). Merges ignore an
expired record from that instant; this module deletes it, oldest first, in batches, and
re-merges its ref in the same transaction: the ref's merged entity changes, or the ref leaves
the catalog with a tombstone in the feed when no live record is left.
"""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, delete, select

from catalog_ingest.contracts.catalog import ExpiryResult
from models.catalog_merge import merge_refs
from models.dialect import column_in
from models.tables import source_entities


def expire_batch(connection: Connection, now: datetime, limit: int) -> ExpiryResult:
    """Delete up to ``limit`` records expired at ``now`` and re-merge their refs."""
    columns = source_entities.c
    rows = connection.execute(
        select(columns.source, columns.ref)
        .where(columns.expires_at.is_not(None), columns.expires_at <= now)
        .order_by(columns.expires_at)
        .limit(limit)
    ).all()
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, ref in rows:
        by_source[source].append(ref)
    expired = 0
    for source, refs in by_source.items():
        expired += connection.execute(
            delete(source_entities).where(
                columns.source == source,
                column_in(connection, columns.ref, refs),
                columns.expires_at <= now,  # refreshed since it was read: kept
            )
        ).rowcount
    changes = merge_refs(connection, [ref for _source, ref in rows], now)
    removed = sum(1 for _ref, content_hash in changes if content_hash is None)
    return ExpiryResult(expired=int(expired), changed=len(changes), removed=removed)
