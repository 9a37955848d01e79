"""``ingest explain``'s content: a ref's merged entity field by field, with the source each
value came from, and the records behind it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog_ingest.aggregation.merge import ranked
from catalog_ingest.aggregation.provenance import provenance
from catalog_ingest.contracts.catalog import CatalogEntry, SourceRecord


@dataclass(frozen=True, slots=True)
class RecordLine:
    source: str
    priority: int
    merge: str
    expires_at: datetime | None
    expired: bool
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Explanation:
    ref: str
    content_hash: str | None
    feed_position: int | None
    conflict: str | None
    fields: list[tuple[str, str]]
    """(field, source) for every leaf of the merged entity, in its key order."""
    records: list[RecordLine]
    """Every stored record, in merge order (expired ones included, marked)."""
    entity: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "content_hash": self.content_hash,
            "feed_position": self.feed_position,
            "conflict": self.conflict,
            "fields": [{"field": name, "source": source} for name, source in self.fields],
            "records": [
                {
                    "source": line.source,
                    "priority": line.priority,
                    "merge": line.merge,
                    "expires_at": _iso(line.expires_at),
                    "expired": line.expired,
                    "updated_at": _iso(line.updated_at),
                }
                for line in self.records
            ],
            "entity": self.entity,
        }


def explain(entry: CatalogEntry, now: datetime) -> Explanation:
    """Attribute the stored merged entity's leaves to the live records (as the merge ranks
    them); with only expired records left, no field is attributed."""
    live = [record for record in entry.records if not _expired(record, now)]
    fields = provenance(entry.entity, live) if entry.entity is not None and live else []
    lines = [
        RecordLine(
            record.source,
            record.priority,
            "replace" if record.replace else "deep",
            record.expires_at,
            _expired(record, now),
            record.updated_at,
        )
        for record in ranked(entry.records)
    ]
    return Explanation(
        entry.ref, entry.content_hash, entry.feed_position, entry.conflict, fields, lines,
        entry.entity,
    )  # fmt: skip


def _expired(record: SourceRecord, now: datetime) -> bool:
    return record.expires_at is not None and record.expires_at <= now


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
