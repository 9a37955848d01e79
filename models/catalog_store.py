"""The SQL implementation of :class:`catalog_ingest.contracts.catalog.CatalogStore`: the
change feed, expiry and provenance reads. :class:`models.sql_repository.SqlRepository`
inherits it, so one object serves the engine and the aggregator."""

from datetime import datetime

from sqlalchemy import Engine

from catalog_ingest.contracts.catalog import CatalogEntry, ExpiryResult, FeedBatch
from models import change_feed
from models.catalog_entry import catalog_entry
from models.expiry import expire_batch

MAX_FEED_BATCH = 10_000


class SqlCatalogStore:
    """Merged-catalog reads and upkeep; every method is one transaction."""

    engine: Engine

    def read_feed(self, after: int, limit: int = 500) -> FeedBatch:
        if limit < 1 or limit > MAX_FEED_BATCH:
            raise ValueError(f"limit must be 1..{MAX_FEED_BATCH}, got {limit}")
        after = max(after, 0)
        with self.engine.connect() as connection:
            behind = change_feed.behind_durable(connection, after)
        if behind:
            with self.engine.begin() as connection:
                change_feed.make_durable(connection)
        with self.engine.connect() as connection:
            return change_feed.read_feed(connection, after, limit)

    def expire_records(self, now: datetime, limit: int = 1000) -> ExpiryResult:
        with self.engine.begin() as connection:
            return expire_batch(connection, now, limit)

    def purge_tombstones(self, before: datetime, limit: int = 1000) -> int:
        with self.engine.begin() as connection:
            return change_feed.purge_tombstones(connection, before, limit)

    def catalog_entry(self, ref: str) -> CatalogEntry | None:
        with self.engine.connect() as connection:
            return catalog_entry(connection, ref)
