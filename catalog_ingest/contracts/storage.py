"""The storage interface the engine depends on, and the records it exchanges.

The SQL implementation lives in the top-level ``models`` package; the engine never imports it.
Every write a burst makes carries the burst's *fence*: the store applies it only while the
ingestion's fence still equals it (and, for burst writes, while ``next_action`` is still
``ingest``), so a worker that lost its lock, or whose pass an operator canceled, writes nothing.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from catalog_ingest.contracts.errors import StepStoppedError
from catalog_ingest.contracts.provider import Entity, JSONValue
from catalog_ingest.contracts.states import NextAction, Phase, Status


@dataclass(frozen=True, slots=True)
class PreparedEntity:
    """An entity ready for storage: ref, stamped body, canonical JSON and its hash."""

    ref: str
    kind: str
    namespace: str
    name: str
    body: Entity
    body_json: str
    content_hash: str


class FencedError(StepStoppedError):
    """The ingestion's fence moved on (or the record is gone): this writer must stop."""


class StopRequestedError(StepStoppedError):
    """An operator changed the ingestion's next action while the burst ran."""


@dataclass(frozen=True, slots=True)
class Ingestion:
    """One ingestion record (a pass of one provider)."""

    id: str
    provider_name: str
    status: Status
    next_action: NextAction
    next_action_at: datetime
    last_error: str | None
    attempts: int
    created_at: datetime
    ingestion_completed_at: datetime | None
    rest_completed_at: datetime | None
    completion_ticket: str
    fence: int
    phase: Phase
    pages: int
    entities: int
    rejected: int
    removed: int
    duplicates: int
    fallbacks: int


@dataclass(frozen=True, slots=True)
class PageWrite:
    """Everything one page commits, atomically."""

    entities: Sequence[PreparedEntity]
    cursor: JSONValue
    done: bool
    rejected: int = 0
    priority: int = 0
    duplicates: int = 0
    """Repeats of a ref within this page, already dropped from ``entities``."""
    fallbacks: int = 0
    """Deferred items of this page resolved in a degraded way."""
    kept_refs: Sequence[str] = ()
    """Refs carried forward from earlier passes (a partial failure): those the provider has
    stored are marked into the pass, their bodies untouched, so the sweep keeps them."""
    ttl_seconds: int | None = None
    """The source's TTL: its records written or confirmed by this page expire this long after
    ``now`` (``None``: never)."""
    merge_replace: bool = False
    """The source merges with ``replace``: each of its records counts whole or not at all."""


@dataclass(frozen=True, slots=True)
class PageResult:
    """What committing a page did."""

    sequence: int
    written: int
    """Entities inserted or changed in the provider's source records."""
    unchanged: int
    """Entities whose content hash matched: nothing was written for them."""
    duplicates: Mapping[str, JSONValue] = field(default_factory=dict)
    """Refs an earlier page of the pass already emitted -> the body kept for them. These
    entities were dropped, not written: the first writer of a ref in a pass keeps it."""


@dataclass(frozen=True, slots=True)
class PendingPage:
    """A committed listing page still waiting for (or just done with) its deferred items."""

    mark_id: int
    sequence: int
    dispatch: int
    """How many times its items were dispatched."""
    pending: int
    """Items not resolved yet (0: ready to finalize)."""
    active_at: datetime | None
    """Its last dispatch or recorded result, whichever is later: a page idle for
    ``pending_page_timeout`` is dispatched again."""


@dataclass(frozen=True, slots=True)
class DeferredItem:
    """A deferred item as stored: what its child task needs."""

    key: str
    payload: JSONValue
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """A deferred item's resolution, as a child task records it."""

    key: str
    entities: Sequence[JSONValue]
    fallback: str | None = None
    keep_refs_of: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class PageContent:
    """Everything a fully resolved pending page commits."""

    ingestion_id: str
    provider_name: str
    entities: list[JSONValue]
    """The page's own entities, then each item's, in the page's order."""
    fallbacks: int
    keep_refs_of: list[str] = field(default_factory=list)
    """Its items' ``Resolution.keep_refs_of``, in the page's order."""


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    """The sweep's arithmetic, computed in SQL."""

    removed: int
    """Entities the provider owns that this ingestion never marked."""
    previous: int
    """Entities the provider owned before this pass marked anything (the guard's denominator):
    the removed ones plus those the pass marked that already existed."""
    marked: int
    """Entities this ingestion marked (zero means the source looked empty)."""


@dataclass(frozen=True, slots=True)
class Mark:
    """One committed page of an ingestion."""

    sequence: int
    cursor: JSONValue
    created_at: datetime
    entity_count: int


class IngestionRepository(Protocol):
    """Ingestion state and page storage, with intent-named transitions."""

    def get_open(self, provider_name: str) -> Ingestion | None: ...

    def get(self, ingestion_id: str) -> Ingestion | None: ...

    def open_ingestion(
        self, provider_name: str, now: datetime, next_action: NextAction = NextAction.INGEST
    ) -> Ingestion:
        """Open a new ingestion (or return the open one if another process was first)."""
        ...

    def take_fence(self, ingestion_id: str) -> int:
        """Increment and return the fence: every older holder's writes are refused from now."""
        ...

    def start_burst(self, ingestion_id: str, fence: int, now: datetime, worker: str) -> int:
        """Mark the ingestion bursting and record the burst; returns the burst's id."""
        ...

    def finish_burst(
        self, burst_id: int, now: datetime, outcome: str, pages: int, entities: int
    ) -> None:
        """Close the burst's history record (whatever the outcome, fenced or not)."""
        ...

    def last_mark(self, ingestion_id: str) -> Mark | None: ...

    def last_cursor(self, ingestion_id: str) -> JSONValue:
        """The cursor of the newest committed page that has one (the page that ends a pass
        stores none), or None; for ``ingest status``."""
        ...

    def commit_page(
        self, ingestion: Ingestion, fence: int, page: PageWrite, now: datetime
    ) -> PageResult:
        """Mark, mark entities, source/catalog upserts and progress in one transaction."""
        ...

    def set_interstitial(
        self,
        ingestion_id: str,
        fence: int,
        now: datetime,
        next_action_at: datetime,
        phase: Phase | None = None,
    ) -> None: ...

    def set_backoff(
        self, ingestion_id: str, fence: int, now: datetime, next_action_at: datetime, error: str
    ) -> None: ...

    def resume_after_backoff(self, ingestion_id: str, fence: int, now: datetime) -> None: ...

    def plan_removals(self, ingestion: Ingestion) -> RemovalPlan: ...

    def remove_unmarked(
        self, ingestion: Ingestion, fence: int, after_ref: str | None, limit: int, now: datetime
    ) -> tuple[int, str | None]:
        """Examine the next ``limit`` owned refs after ``after_ref``; remove the unmarked ones.

        Returns how many were removed and the last ref examined (``None`` when the walk is over).
        """
        ...

    def set_resting(
        self,
        ingestion_id: str,
        fence: int,
        now: datetime,
        next_action_at: datetime,
        note: str | None,
    ) -> None: ...

    def close(self, ingestion_id: str, fence: int, now: datetime, *, canceled: bool) -> None: ...

    def clear_finished(self, provider_name: str) -> int:
        """Delete finished ingestions of a provider except the newest completed one."""
        ...

    def request_cancel(self, ingestion_id: str, now: datetime) -> None: ...

    def cancel_and_pause(self, provider_name: str, now: datetime, resume_at: datetime) -> Ingestion:
        """Close the open ingestion as canceled whoever holds its fence (its running burst's
        next guarded write is refused, so it stops at its next page), and open a new one,
        paused until ``resume_at`` or an operator's trigger."""
        ...

    def make_due(
        self, ingestion_id: str, now: datetime, next_action: NextAction | None = None
    ) -> None: ...

    def purge_provider(self, provider_name: str) -> int: ...

    def orphaned_sources(self, configured: Collection[str]) -> list[tuple[str, int]]:
        """Sources with stored records that are not in ``configured``, with how many records
        each stores (by name)."""
        ...

    def forget_source(self, source: str, now: datetime, batch: int = 1000) -> int:
        """Delete every record of ``source`` (``batch`` refs per transaction), re-pointing or
        dropping their catalog entries as a sweep removal does, then its ingestion records;
        returns how many source records were deleted."""
        ...

    def purge_all_and_pause(self, providers: Iterable[str], now: datetime) -> list[Ingestion]:
        """In one transaction: delete every ingestion record, then open a paused ingestion for
        each provider that had records and each of ``providers``."""
        ...

    def list_marks(self, ingestion_id: str) -> list[Mark]: ...

    def entities_marked_since(self, ingestion_id: str, since: datetime) -> int:
        """Entities marked by the ingestion's pages committed at or after ``since`` (for the
        rate ``ingest status --watch`` shows)."""
        ...

    # Deferred pages (detail fan-out): see catalog_ingest.engine.deferred_items.

    def commit_deferred_page(
        self,
        ingestion: Ingestion,
        fence: int,
        page: PageWrite,
        staged: Sequence[JSONValue],
        items: Sequence[DeferredItem],
        now: datetime,
    ) -> PendingPage:
        """Commit a listing page whose entities wait for ``items``: its mark (sequence and
        cursor) now, under the burst's fence; its entities when the last item is resolved."""
        ...

    def pending_pages(self, ingestion_id: str) -> list[PendingPage]:
        """Deferred pages of the ingestion not finalized yet, oldest first."""
        ...

    def deferred_items(self, mark_id: int, keys: Sequence[str]) -> list[DeferredItem]:
        """Those of the items that are still unresolved (none once the page is committed)."""
        ...

    def record_resolutions(
        self, mark_id: int, results: Sequence[ItemResult], now: datetime
    ) -> int | None:
        """Store items' results (an item's first result wins); returns the page's items still
        pending once committed (the last committer sees 0), or ``None`` when nothing was
        recorded (already resolved, page committed or gone)."""
        ...

    def page_content(self, mark_id: int) -> PageContent | None:
        """What the page commits, when it is fully resolved and not finalized."""
        ...

    def finalize_page(self, mark_id: int, page: PageWrite, now: datetime) -> PageResult | None:
        """Commit a fully resolved page once: marks, catalog writes and counters in one
        transaction. ``None`` when it was finalized already or its pass no longer accepts
        writes (canceled, reset, closed)."""
        ...

    def redispatch(
        self, ingestion_id: str, fence: int, mark_id: int, now: datetime
    ) -> tuple[int, list[DeferredItem]] | None:
        """Move a pending page to a new generation (under the burst's fence); returns it and
        the items still unresolved, or ``None`` when the page is no longer pending."""
        ...

    def list_ingestions(self, provider_name: str | None = None) -> list[Ingestion]: ...

    def stored_entities(self, source: str, refs: Sequence[str]) -> dict[str, Entity]:
        """The bodies ``source`` stored for those of ``refs`` it has (ref -> body)."""
        ...

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
        """Apply an event in one transaction, only while the ingestion's fence still equals
        ``fence`` (whatever its next action): upsert and mark ``added``, delete the provider's
        records of ``removed`` and forget their marks, and re-merge every touched ref once.
        ``ttl_seconds`` and ``merge_replace`` are the source's, as in :class:`PageWrite`.
        Returns how many records were deleted."""
        ...
