"""Tables: ingestion state (ingestions, marks, mark entities), the catalog and its feed.

The catalog has two levels: ``source_entities`` holds each source's (provider's) version of an
entity, and ``catalog_entities`` the merged entity per ref. A ref with a single contributing
record is stored as a pointer to it (no body: a first-time entity costs one body write, not
two); several contributors store the merged body. ``change_feed`` gives every change of a
merged entity a position (one row per ref, tombstones for removals); ``feed_state`` holds the
last position handed out (its row lock orders writers, see :mod:`models.change_feed`).
"""

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

REF_LENGTH = 300
"""kind (63) + namespace (63) + name (63) + separators, with room to spare."""
SEARCH_KEY_LENGTH = 200
SEARCH_VALUE_LENGTH = 200
"""Backstage's limits for its search table: longer keys are not indexed, longer values keep
their key with a null value."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")
NullableDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""A JSON column where Python ``None`` is SQL NULL (not the JSON ``null``)."""
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class IngestionRow(Base):
    __tablename__ = "ingestions"
    __table_args__ = (
        UniqueConstraint("provider_name", "completion_ticket", name="uq_ingestions_ticket"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider_name: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(32))
    next_action: Mapped[str] = mapped_column(String(32))
    next_action_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingestion_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rest_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_ticket: Mapped[str] = mapped_column(String(36))
    fence: Mapped[int] = mapped_column(BigInteger, default=0)
    phase: Mapped[str] = mapped_column(String(16))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    entities: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    removed: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Entities dropped because an earlier page of the pass already emitted their ref."""
    fallbacks: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Deferred items resolved in a degraded way (their detail calls kept failing)."""


class MarkRow(Base):
    __tablename__ = "ingestion_marks"
    __table_args__ = (UniqueConstraint("ingestion_id", "sequence", name="uq_marks_sequence"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ingestion_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("ingestions.id", ondelete="CASCADE")
    )
    sequence: Mapped[int] = mapped_column(Integer)
    cursor: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deferred: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many deferred items the page waits for (0: an ordinary page, committed at once)."""
    dispatch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many times the page's items were dispatched (1, then +1 per re-dispatch)."""
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    staged: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    """The page's own entities, held until its deferred items are resolved."""
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When a deferred page was committed (marks and catalog writes); null while pending."""


class DeferredRow(Base):
    """A deferred item of a pending page, and its resolution once a child task made it."""

    __tablename__ = "ingestion_deferred"

    mark_id: Mapped[int] = mapped_column(
        AutoId, ForeignKey("ingestion_marks.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    """Order within the page: entities commit in the order the page listed them."""
    ingestion_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[Any] = mapped_column(JSONDocument)
    labels: Mapped[Any] = mapped_column(JSONDocument)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    entities: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    fallback: Mapped[str | None] = mapped_column(Text, nullable=True)
    keep_refs_of: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    """Components whose previous APIs a degraded resolution carries forward."""


class MarkEntityRow(Base):
    """A ref seen by an ingestion; ``mark_id`` is null for refs added by events.

    No foreign keys on purpose: the per-row key checks cost about half of marking a page
    (some 7% of a whole page). Mark entities only ever go away with their ingestion, which
    :func:`models.ingestion_state.delete_ingestions` does explicitly.
    """

    __tablename__ = "ingestion_mark_entities"

    ingestion_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    mark_id: Mapped[int | None] = mapped_column(AutoId, nullable=True)
    existed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The provider already owned this ref when the pass marked it (the guard's denominator)."""


class BurstRow(Base):
    """History of bursts: who ran which step of which ingestion, with which fence, when."""

    __tablename__ = "ingestion_bursts"
    __table_args__ = (Index("ix_bursts_provider_started", "provider_name", "started_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ingestion_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("ingestions.id", ondelete="CASCADE")
    )
    provider_name: Mapped[str] = mapped_column(String(63))
    fence: Mapped[int] = mapped_column(BigInteger)
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    entities: Mapped[int] = mapped_column(BigInteger, default=0)
    outcome: Mapped[str | None] = mapped_column(String(32))


class SourceEntityRow(Base):
    """One source's version of an entity."""

    __tablename__ = "source_entities"
    __table_args__ = (
        Index("ix_source_entities_ref", "ref"),
        Index(
            "ix_source_entities_expires_at",
            "expires_at",
            postgresql_where=text("expires_at IS NOT NULL"),
            sqlite_where=text("expires_at IS NOT NULL"),
        ),
    )

    source: Mapped[str] = mapped_column(String(63), primary_key=True)
    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(63))
    body: Mapped[Any] = mapped_column(JSONDocument)
    content_hash: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Last refresh plus the source's TTL; null: never expires."""
    merge_replace: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The source merges with ``replace``: this record counts whole or not at all."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CatalogEntityRow(Base):
    """The merged catalog: per ref, the top contributing source record, the merged hash, and
    the merged body when more than that one record contributes (else null: the record is it)."""

    __tablename__ = "catalog_entities"

    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    source: Mapped[str] = mapped_column(String(63))
    content_hash: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[Any] = mapped_column(NullableDocument, nullable=True)
    conflict: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why the last merge was refused (the previous merged entity was kept); null otherwise."""


class ChangeFeedRow(Base):
    """The latest change of a ref: its position, its merged hash (null: a tombstone)."""

    __tablename__ = "change_feed"
    __table_args__ = (
        Index("ix_change_feed_position", "position", unique=True),
        Index(
            "ix_change_feed_tombstones",
            "changed_at",
            postgresql_where=text("content_hash IS NULL"),
            sqlite_where=text("content_hash IS NULL"),
        ),
    )

    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    position: Mapped[int] = mapped_column(AutoId)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedStateRow(Base):
    """One row: the last feed position handed out, the newest tombstone purged, and the last
    position known durable (readers read up to it)."""

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_position: Mapped[int] = mapped_column(AutoId)
    purged_position: Mapped[int] = mapped_column(AutoId)
    durable_position: Mapped[int] = mapped_column(AutoId, default=0, server_default="0")


class SearchRow(Base):
    """The read API's projection (like Backstage's ``search`` table): one row per flattened
    key/value of a merged entity, lower-cased; ``original_value`` keeps the case for facets.
    Maintained from the change feed by :mod:`models.search_projection`, never by the writers."""

    __tablename__ = "catalog_search"
    __table_args__ = (
        Index("ix_catalog_search_key_value", "key", "value", "ref", "original_value"),
    )

    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(SEARCH_KEY_LENGTH), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Which value of the key (a list gives one row per item)."""
    value: Mapped[str | None] = mapped_column(String(SEARCH_VALUE_LENGTH), nullable=True)
    """Lower-cased; null when too long to index (the key still exists)."""
    original_value: Mapped[str | None] = mapped_column(String(SEARCH_VALUE_LENGTH), nullable=True)


class SearchEntityRow(Base):
    """Every ref of the projection, with its lower-cased form for case-insensitive lookups."""

    __tablename__ = "catalog_search_entities"
    __table_args__ = (Index("ix_catalog_search_entities_lookup", "lookup"),)

    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    lookup: Mapped[str] = mapped_column(String(REF_LENGTH))


class SearchStateRow(Base):
    """One row: the feed position the projection has applied, and the newest purged tombstone
    it has accounted for (see :mod:`models.search_projection`)."""

    __tablename__ = "catalog_search_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(AutoId)
    purged_position: Mapped[int] = mapped_column(AutoId)


ingestions = cast(Table, IngestionRow.__table__)
marks = cast(Table, MarkRow.__table__)
mark_entities = cast(Table, MarkEntityRow.__table__)
source_entities = cast(Table, SourceEntityRow.__table__)
bursts = cast(Table, BurstRow.__table__)
catalog_entities = cast(Table, CatalogEntityRow.__table__)
deferred_items = cast(Table, DeferredRow.__table__)
change_feed = cast(Table, ChangeFeedRow.__table__)
feed_state = cast(Table, FeedStateRow.__table__)
search = cast(Table, SearchRow.__table__)
search_entities = cast(Table, SearchEntityRow.__table__)
search_state = cast(Table, SearchStateRow.__table__)
