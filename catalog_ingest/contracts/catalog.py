"""Records of the merged catalog: source records, the change feed, expiry.

Storage returns them; the aggregator (:mod:`catalog_ingest.aggregation`) merges source records
into the catalog's entity per ref.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from catalog_ingest.contracts.provider import Entity


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One source's version of an entity, as the merge sees it."""

    source: str
    priority: int
    body: Entity
    content_hash: str
    replace: bool = False
    """The source declared ``merge: replace``: its entity counts whole or not at all."""
    expires_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedChange:
    """One entry of the change feed: the ref's state as of ``position``."""

    position: int
    ref: str
    entity: Entity | None
    """The merged entity; ``None`` is a tombstone (the ref left the catalog)."""


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """A batch of the change feed, in position order.

    Apply ``changes``, then store ``next_position`` and read from it next time. ``relist``:
    the reader's position is older than the tombstone window (removals it never saw are gone
    from the feed); ``changes`` is then empty: list the whole catalog, drop what was not
    listed, and continue from ``next_position`` (the feed's head, read before the listing).
    """

    changes: Sequence[FeedChange]
    next_position: int
    relist: bool = False


@dataclass(frozen=True, slots=True)
class ExpiryResult:
    """What one expiry batch did."""

    expired: int
    """Source records dropped because their source's TTL ran out."""
    changed: int
    """Refs whose merged entity changed as a result (re-merged or removed)."""
    removed: int
    """Refs that left the catalog: no live record was left (a tombstone each)."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A ref's merged entity with the source records behind it (``ingest explain``)."""

    ref: str
    entity: Entity | None
    """The stored merged entity (``None`` when only expired records remain)."""
    content_hash: str | None
    records: Sequence[SourceRecord]
    """Every stored record of the ref, expired ones included, highest priority first."""
    conflict: str | None = None
    """Why the last merge was refused (the previous merged entity was kept), if it was."""
    feed_position: int | None = None


class CatalogStore(Protocol):
    """The merged catalog's storage, beside the ingestion repository (the SQL repository is
    both): the change feed, expiry and provenance."""

    def read_feed(self, after: int, limit: int = 500) -> FeedBatch:
        """Up to ``limit`` changes after position ``after`` (0: from the start), oldest first,
        each with the ref's current merged entity or ``None`` (a tombstone). Loss-free: a
        position is visible only once every position below it is, and only once it is durable
        (see ``models.change_feed``): a reader that finds undurable positions first commits a
        one-row update synchronously, so this is a short write transaction now and then.
        ``relist`` when tombstones after ``after`` were purged (the reader is too far behind).
        ``limit`` is 1..10,000."""
        ...

    def expire_records(self, now: datetime, limit: int = 1000) -> ExpiryResult:
        """In one transaction: delete up to ``limit`` source records expired at ``now``
        (oldest first) and re-merge their refs; a ref left with no live record is removed
        (a tombstone in the feed)."""
        ...

    def purge_tombstones(self, before: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` feed tombstones older than ``before``; readers whose position
        is behind the newest one purged are told to relist. Returns how many were deleted."""
        ...

    def catalog_entry(self, ref: str) -> CatalogEntry | None:
        """The ref's merged entity and every stored record of it, or ``None`` when no source
        holds it."""
        ...
