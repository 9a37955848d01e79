"""The expiry run (the ``ingest.expire`` task's body): drop expired records batch by batch,
each batch re-merging its refs in its own transaction, then purge the feed's tombstones older
than the window."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from catalog_ingest.contracts.catalog import CatalogStore

DEFAULT_TOMBSTONE_DAYS = 7.0
EXPIRY_BATCH = 1000
MAX_BATCHES = 100
"""Per run: a backlog larger than this many batches is left to the next run (a minute later),
so one run never holds a worker for long."""


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """What one run did (the task's result)."""

    expired: int = 0
    changed: int = 0
    removed: int = 0
    tombstones_purged: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run_expiry(
    store: CatalogStore,
    now: datetime,
    tombstone_window: timedelta = timedelta(days=DEFAULT_TOMBSTONE_DAYS),
    batch: int = EXPIRY_BATCH,
    max_batches: int = MAX_BATCHES,
) -> ExpiryReport:
    """Expire what is due at ``now``, then purge tombstones older than ``tombstone_window``."""
    expired = changed = removed = purged = 0
    for _ in range(max_batches):
        result = store.expire_records(now, batch)
        expired, changed = expired + result.expired, changed + result.changed
        removed += result.removed
        if result.expired < batch:
            break
    for _ in range(max_batches):
        count = store.purge_tombstones(now - tombstone_window, batch)
        purged += count
        if count < batch:
            break
    return ExpiryReport(expired, changed, removed, purged)
