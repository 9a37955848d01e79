"""The SQL implementation of :class:`catalog_ingest.contracts.storage.IngestionRepository`.

Each method is one transaction. The SQL itself lives in the modules this class composes:
``ingestion_state`` (transitions), ``pages`` (page commits and marks), ``sweep`` (removals) and
``catalog_writes`` (the catalog).
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from catalog_ingest.contracts.provider import Entity, JSONValue
from catalog_ingest.contracts.states import NextAction, Phase, Status
from catalog_ingest.contracts.storage import (
    DeferredItem,
    Ingestion,
    ItemResult,
    Mark,
    PageContent,
    PageResult,
    PageWrite,
    PendingPage,
    PreparedEntity,
    RemovalPlan,
)
from models import catalog_reads, deferred_pages, metrics_reads, pages, removals
from models import ingestion_state as state
from models.catalog_store import SqlCatalogStore
from models.catalog_writes import delete_source_entities
from models.metrics_reads import MetricsSnapshot
from models.tables import ingestions


class SqlRepository(SqlCatalogStore):
    """Ingestion state and catalog storage on PostgreSQL or SQLite (the merged catalog's feed,
    expiry and provenance come from :class:`SqlCatalogStore`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_open(self, provider_name: str) -> Ingestion | None:
        with self.engine.connect() as connection:
            return state.get_open(connection, provider_name)

    def get(self, ingestion_id: str) -> Ingestion | None:
        with self.engine.connect() as connection:
            return state.get(connection, ingestion_id)

    def open_ingestion(
        self, provider_name: str, now: datetime, next_action: NextAction = NextAction.INGEST
    ) -> Ingestion:
        with self.engine.begin() as connection:
            state.insert_open(connection, provider_name, now, next_action)
            opened = state.get_open(connection, provider_name)
        if opened is None:  # pragma: no cover - the insert or a concurrent one made it
            raise RuntimeError(f"no open ingestion for {provider_name} after opening one")
        return opened

    def take_fence(self, ingestion_id: str) -> int:
        with self.engine.begin() as connection:
            return state.take_fence(connection, ingestion_id)

    def start_burst(self, ingestion_id: str, fence: int, now: datetime, worker: str) -> int:
        with self.engine.begin() as connection:
            return state.start_burst(connection, ingestion_id, fence, now, worker)

    def finish_burst(
        self, burst_id: int, now: datetime, outcome: str, pages: int, entities: int
    ) -> None:
        with self.engine.begin() as connection:
            state.finish_burst(connection, burst_id, now, outcome, pages, entities)

    def last_mark(self, ingestion_id: str) -> Mark | None:
        with self.engine.connect() as connection:
            return pages.last_mark(connection, ingestion_id)

    def last_cursor(self, ingestion_id: str) -> JSONValue:
        with self.engine.connect() as connection:
            return pages.last_cursor(connection, ingestion_id)

    def commit_page(
        self, ingestion: Ingestion, fence: int, page: PageWrite, now: datetime
    ) -> PageResult:
        with self.engine.begin() as connection:
            return pages.commit_page(
                connection, ingestion.id, ingestion.provider_name, fence, page, now
            )

    def set_interstitial(
        self,
        ingestion_id: str,
        fence: int,
        now: datetime,
        next_action_at: datetime,
        phase: Phase | None = None,
    ) -> None:
        values: dict[str, object] = {
            "status": Status.INTERSTITIAL,
            "next_action_at": next_action_at,
            "attempts": 0,
            "last_error": None,
            "updated_at": now,
        }
        if phase is not None:
            values["phase"] = phase
        with self.engine.begin() as connection:
            state.guarded_update(connection, ingestion_id, fence, values)

    def set_backoff(
        self, ingestion_id: str, fence: int, now: datetime, next_action_at: datetime, error: str
    ) -> None:
        values = {
            "status": Status.BACKING_OFF,
            "next_action": NextAction.BACKOFF,
            "next_action_at": next_action_at,
            "attempts": ingestions.c.attempts + 1,
            "last_error": error,
            "updated_at": now,
        }
        with self.engine.begin() as connection:
            state.guarded_update(connection, ingestion_id, fence, values)

    def resume_after_backoff(self, ingestion_id: str, fence: int, now: datetime) -> None:
        values = {
            "status": Status.INTERSTITIAL,
            "next_action": NextAction.INGEST,
            "next_action_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as connection:
            state.guarded_update(
                connection, ingestion_id, fence, values, require=NextAction.BACKOFF
            )

    def plan_removals(self, ingestion: Ingestion) -> RemovalPlan:
        with self.engine.connect() as connection:
            return removals.plan_removals(connection, ingestion.id, ingestion.provider_name)

    def remove_unmarked(
        self, ingestion: Ingestion, fence: int, after_ref: str | None, limit: int, now: datetime
    ) -> tuple[int, str | None]:
        with self.engine.begin() as connection:
            state.guarded_update(connection, ingestion.id, fence, {"updated_at": now})
            return removals.remove_unmarked_batch(
                connection, ingestion.id, ingestion.provider_name, after_ref, limit, now
            )

    def set_resting(
        self,
        ingestion_id: str,
        fence: int,
        now: datetime,
        next_action_at: datetime,
        note: str | None,
    ) -> None:
        values = {
            "status": Status.RESTING,
            "next_action": NextAction.REST,
            "next_action_at": next_action_at,
            "phase": Phase.DONE,
            "attempts": 0,
            "last_error": note,
            "ingestion_completed_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as connection:
            state.guarded_update(connection, ingestion_id, fence, values)

    def close(self, ingestion_id: str, fence: int, now: datetime, *, canceled: bool) -> None:
        with self.engine.begin() as connection:
            state.close(connection, ingestion_id, fence, now, canceled=canceled)

    def clear_finished(self, provider_name: str) -> int:
        with self.engine.begin() as connection:
            return state.clear_finished(connection, provider_name)

    def request_cancel(self, ingestion_id: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            state.make_due(connection, ingestion_id, now, NextAction.CANCEL)

    def cancel_and_pause(self, provider_name: str, now: datetime, resume_at: datetime) -> Ingestion:
        with self.engine.begin() as connection:
            state.cancel_open(connection, provider_name, now)
            state.insert_open(connection, provider_name, now, NextAction.INGEST)
            state.pause_open_until(connection, provider_name, now, resume_at)
            opened = state.get_open(connection, provider_name)
        if opened is None:  # pragma: no cover - opened in the same transaction
            raise RuntimeError(f"no open ingestion for {provider_name} after cancel")
        return opened

    def make_due(
        self, ingestion_id: str, now: datetime, next_action: NextAction | None = None
    ) -> None:
        with self.engine.begin() as connection:
            state.make_due(connection, ingestion_id, now, next_action)

    def purge_provider(self, provider_name: str) -> int:
        with self.engine.begin() as connection:
            return state.purge_provider(connection, provider_name)

    def orphaned_sources(self, configured: Collection[str]) -> list[tuple[str, int]]:
        with self.engine.connect() as connection:
            return catalog_reads.records_by_source(connection, configured)

    def forget_source(self, source: str, now: datetime, batch: int = 1000) -> int:
        removed = 0
        while True:
            with self.engine.begin() as connection:
                deleted = removals.forget_source_batch(connection, source, batch, now)
            removed += deleted
            if deleted == 0:
                break
        with self.engine.begin() as connection:
            state.purge_provider(connection, source)
        return removed

    def purge_all_and_pause(self, providers: Iterable[str], now: datetime) -> list[Ingestion]:
        with self.engine.begin() as connection:
            names = sorted(set(state.purge_all(connection)) | set(providers))
            for name in names:
                state.insert_open(connection, name, now, NextAction.PAUSE)
            return [ingestion for name in names if (ingestion := state.get_open(connection, name))]

    def list_marks(self, ingestion_id: str) -> list[Mark]:
        with self.engine.connect() as connection:
            return pages.list_marks(connection, ingestion_id)

    def entities_marked_since(self, ingestion_id: str, since: datetime) -> int:
        with self.engine.connect() as connection:
            return pages.entities_marked_since(connection, ingestion_id, since)

    def list_ingestions(self, provider_name: str | None = None) -> list[Ingestion]:
        with self.engine.connect() as connection:
            return state.list_ingestions(connection, provider_name)

    def metrics_snapshot(self) -> MetricsSnapshot:
        """What ``GET /metrics`` reports (see :mod:`models.metrics_reads`)."""
        with self.engine.connect() as connection:
            return metrics_reads.snapshot(connection)

    def stored_entities(self, source: str, refs: Sequence[str]) -> dict[str, Entity]:
        with self.engine.connect() as connection:
            return catalog_reads.source_bodies(connection, source, refs)

    def apply_delta(
        self,
        ingestion: Ingestion,
        fence: int,
        added: Sequence[PreparedEntity],
        removed: Sequence[str],
        priority: int,
        now: datetime,
        ttl_seconds: int | None = None,
        merge_replace: bool = False,
    ) -> int:
        with self.engine.begin() as connection:
            # Locks the ingestion row first, like a page commit: the two serialize.
            state.guarded_update(connection, ingestion.id, fence, {"updated_at": now}, require=None)
            source = ingestion.provider_name
            deleted = delete_source_entities(connection, source, removed, now, merge=False)
            policy = pages.RecordPolicy(priority, ttl_seconds, merge_replace)
            pages.mark_and_store(
                connection, ingestion.id, None, source, added, policy, now, removed
            )
            pages.unmark_refs(connection, ingestion.id, removed)
            return deleted

    # ------------------------------------------------------------------ deferred pages

    def commit_deferred_page(
        self,
        ingestion: Ingestion,
        fence: int,
        page: PageWrite,
        staged: Sequence[JSONValue],
        items: Sequence[DeferredItem],
        now: datetime,
    ) -> PendingPage:
        with self.engine.begin() as connection:
            return deferred_pages.commit_deferred_page(
                connection, ingestion.id, fence, page, staged, items, now
            )

    def pending_pages(self, ingestion_id: str) -> list[PendingPage]:
        with self.engine.connect() as connection:
            return deferred_pages.pending_pages(connection, ingestion_id)

    def deferred_items(self, mark_id: int, keys: Sequence[str]) -> list[DeferredItem]:
        with self.engine.connect() as connection:
            return deferred_pages.deferred_items_of(connection, mark_id, keys)

    def record_resolutions(
        self, mark_id: int, results: Sequence[ItemResult], now: datetime
    ) -> int | None:
        with self.engine.connect() as connection:
            with connection.begin():
                recorded = deferred_pages.record_resolutions(connection, mark_id, results, now)
            if not recorded:
                return None
            return deferred_pages.unresolved(connection, mark_id)  # after the commit: all children

    def page_content(self, mark_id: int) -> PageContent | None:
        with self.engine.connect() as connection:
            return deferred_pages.page_content(connection, mark_id)

    def finalize_page(self, mark_id: int, page: PageWrite, now: datetime) -> PageResult | None:
        try:
            with self.engine.begin() as connection:
                return deferred_pages.finalize_page(connection, mark_id, page, now)
        except deferred_pages.PageRefusedError:
            return None

    def redispatch(
        self, ingestion_id: str, fence: int, mark_id: int, now: datetime
    ) -> tuple[int, list[DeferredItem]] | None:
        with self.engine.begin() as connection:
            state.guarded_update(connection, ingestion_id, fence, {"updated_at": now})
            return deferred_pages.redispatch(connection, mark_id, now)
