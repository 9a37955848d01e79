"""One burst: pages from the last mark's cursor until done, out of time, or asked to stop."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import orjson

from catalog_ingest.contracts.errors import ContractViolationError
from catalog_ingest.contracts.locking import Lease, ensure_held
from catalog_ingest.contracts.provider import BurstInfo, DeferringProvider, JSONValue, Page
from catalog_ingest.contracts.request_slots import SlotsFactory
from catalog_ingest.contracts.storage import Ingestion, IngestionRepository, PageWrite
from catalog_ingest.engine import event_log
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.carry_forward import carry_forward
from catalog_ingest.engine.clock import Clock
from catalog_ingest.engine.deferred_items import Dispatcher, as_items, deferring, resolve_inline
from catalog_ingest.engine.entity_preparation import PreparedPage, prepare_page
from catalog_ingest.engine.read_ahead import ReadAhead
from catalog_ingest.engine.reporting import log_rejections, report_clashes

log = event_log.get_logger(__name__)

StopCheck = Callable[[], bool]


class ProviderContractError(ContractViolationError):
    """A provider returned something the contract does not allow."""


@dataclass(slots=True)
class BurstProgress:
    """Running totals of one burst."""

    pages: int = 0
    entities: int = 0
    written: int = 0
    rejected: int = 0
    duplicates: int = 0
    fallbacks: int = 0
    deferred: int = 0
    """Deferred items dispatched to child tasks."""
    throttled: bool = False
    """The burst stopped early because too many pages wait for their deferred items."""
    done: bool = False


def _check_page(page: object, provider_name: str) -> Page:
    if not isinstance(page, Page):
        raise ProviderContractError(
            f"provider {provider_name}: next() must return a Page, got {type(page).__name__}"
        )
    if not page.done:
        try:
            orjson.dumps(page.cursor)
        except TypeError as error:
            raise ProviderContractError(
                f"provider {provider_name}: cursor is not JSON-serialisable ({error})"
            ) from error
    return page


def _stored_cursor(page: Page) -> JSONValue:
    """The cursor exactly as it will come back from the database (a JSON round trip)."""
    return orjson.loads(orjson.dumps(page.cursor)) if not page.done else None


@dataclass(frozen=True, slots=True)
class BurstScope:
    """What a burst runs for and with."""

    repository: IngestionRepository
    binding: ProviderBinding
    ingestion: Ingestion
    fence: int
    clock: Clock
    dispatcher: Dispatcher | None = None
    """Sends deferred items to child tasks; without one they are resolved in the burst."""
    local_slots: SlotsFactory | None = None
    """Bounds the detail calls a burst makes itself (no dispatcher)."""


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A page as the provider returned it, made ready to commit."""

    page: Page
    cursor: JSONValue
    """The page's cursor as it will come back from the database."""
    prepared: PreparedPage | None = None
    """Its entities, validated and stamped; ``None`` for a page whose items go to children."""
    fallbacks: int = 0
    kept_refs: Sequence[str] = ()
    """Refs carried forward from earlier passes (see :mod:`.carry_forward`)."""


def run_burst(
    scope: BurstScope,
    should_stop: StopCheck,
    lease: Lease | None = None,
    progress: BurstProgress | None = None,
) -> BurstProgress:
    """Fetch and commit pages; each page is one transaction. Raises on provider or store errors.

    Before each commit the lease (when there is one) must still be held: a burst that lost its
    lock writes nothing more, even before anyone else takes the fence. With a dispatcher, the
    burst stops listing while ``max_pending_pages`` pages wait for their deferred items;
    otherwise the next page is read ahead while the current one commits
    (:mod:`catalog_ingest.engine.read_ahead`).
    """
    progress = progress or BurstProgress()
    repository, binding, ingestion = scope.repository, scope.binding, scope.ingestion
    mark = repository.last_mark(ingestion.id)
    cursor = mark.cursor if mark else None
    deadline = scope.clock.monotonic() + binding.options.burst_length
    info = BurstInfo(provider_name=binding.name, ingestion_id=ingestion.id, fence=scope.fence)
    throttles = _may_throttle(scope)

    def out_of_time() -> bool:
        return scope.clock.monotonic() >= deadline or should_stop()

    with (
        binding.provider.around(info) as context,
        ReadAhead(partial(_fetch, scope, context)) as reader,
    ):
        while True:
            if throttles and _throttled(scope):
                progress.throttled = True
                return progress
            fetched = reader.take(cursor)
            cursor = fetched.cursor
            if not (throttles or fetched.page.done or out_of_time()):
                reader.prefetch(cursor)
            if fetched.prepared is None:
                _commit_deferred(scope, fetched.page, cursor, lease, progress)
            else:
                _commit(scope, fetched, lease, progress)
            if fetched.page.done:
                progress.done = True
                return progress
            if out_of_time():
                return progress


def _fetch(scope: BurstScope, context: object, cursor: JSONValue) -> FetchedPage:
    """The provider's page after ``cursor``; deferred items resolved here unless dispatched."""
    binding = scope.binding
    page = _check_page(binding.provider.next(context, cursor), binding.name)
    stored_cursor = _stored_cursor(page)
    if page.deferred and scope.dispatcher is not None:
        return FetchedPage(page, stored_cursor)
    if not page.deferred:
        return FetchedPage(
            page,
            stored_cursor,
            prepare_page(page.entities, binding.name, binding.options.max_entity_bytes),
        )
    resolved = resolve_inline(binding, as_items(page.deferred), scope.local_slots)
    carried = carry_forward(
        scope.repository, binding.name, [*page.entities, *resolved.entities], resolved.keep_refs_of
    )
    prepared = prepare_page(carried.entities, binding.name, binding.options.max_entity_bytes)
    return FetchedPage(page, stored_cursor, prepared, resolved.fallbacks, carried.kept_refs)


def _may_throttle(scope: BurstScope) -> bool:
    """Whether backpressure applies: deferred items go to child tasks."""
    return scope.dispatcher is not None and isinstance(scope.binding.provider, DeferringProvider)


def _throttled(scope: BurstScope) -> bool:
    """Backpressure: too many pages still wait for their deferred items."""
    waiting = len(scope.repository.pending_pages(scope.ingestion.id))
    limit = scope.binding.options.max_pending_pages
    if waiting < limit:
        return False
    log.info("burst paused: pages wait for details", provider=scope.binding.name, pending=waiting)
    return True


def _commit(
    scope: BurstScope, fetched: FetchedPage, lease: Lease | None, progress: BurstProgress
) -> None:
    """One page in one transaction."""
    binding, prepared = scope.binding, fetched.prepared
    assert prepared is not None
    log_rejections(binding, prepared)
    ensure_held(lease)
    write = PageWrite(
        prepared.entities,
        fetched.cursor,
        fetched.page.done,
        len(prepared.rejections),
        binding.priority,
        len(prepared.duplicates),
        fetched.fallbacks,
        fetched.kept_refs,
        binding.options.ttl_seconds,
        binding.options.merge == "replace",
    )
    result = scope.repository.commit_page(scope.ingestion, scope.fence, write, scope.clock.now())
    progress.duplicates += report_clashes(binding, prepared, result)
    progress.pages += 1
    progress.entities += len(prepared.entities) - len(result.duplicates)
    progress.written += result.written
    progress.rejected += len(prepared.rejections)
    progress.fallbacks += fetched.fallbacks
    log.debug(
        "page committed",
        provider=binding.name,
        sequence=result.sequence,
        entities=len(prepared.entities),
        written=result.written,
    )


def _commit_deferred(
    scope: BurstScope,
    page: Page,
    cursor: JSONValue,
    lease: Lease | None,
    progress: BurstProgress,
) -> None:
    """Commit the page's mark now, hold its entities, and dispatch its deferred items."""
    assert scope.dispatcher is not None
    deferring(scope.binding)
    items = as_items(page.deferred)
    ensure_held(lease)
    pending = scope.repository.commit_deferred_page(
        scope.ingestion,
        scope.fence,
        PageWrite((), cursor, page.done, priority=scope.binding.priority),
        list(page.entities),
        items,
        scope.clock.now(),
    )
    scope.dispatcher.dispatch(
        scope.binding.name, scope.ingestion.id, pending.mark_id, pending.dispatch, items
    )
    progress.pages += 1
    progress.deferred += len(items)
    log.debug(
        "page committed, details dispatched",
        provider=scope.binding.name,
        sequence=pending.sequence,
        deferred=len(items),
    )
