"""One burst: pages from the last mark's cursor until done, out of time, or asked to stop."""

from collections.abc import Callable
from dataclasses import dataclass

import orjson
import structlog

from catalog_ingest.binding import ProviderBinding
from catalog_ingest.clock import Clock
from catalog_ingest.entities import prepare_page
from catalog_ingest.fanout import Dispatcher, as_items, deferring, resolve_inline
from catalog_ingest.lock import Lease, LockLostError
from catalog_ingest.provider import BurstInfo, DeferringProvider, JSONValue, Page
from catalog_ingest.reporting import log_rejections, report_clashes
from catalog_ingest.repository import Ingestion, IngestionRepository, PageWrite

log = structlog.get_logger(__name__)

StopCheck = Callable[[], bool]


class ProviderContractError(TypeError):
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


def _ensure_lease(lease: Lease | None) -> None:
    if lease is not None and not lease.held():
        raise LockLostError(f"lock on provider {lease.provider} was lost; burst stops unwritten")


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


def run_burst(
    scope: BurstScope,
    should_stop: StopCheck,
    lease: Lease | None = None,
    progress: BurstProgress | None = None,
) -> BurstProgress:
    """Fetch and commit pages; each page is one transaction. Raises on provider or store errors.

    Before each commit the lease (when there is one) must still be held: a burst that lost its
    lock writes nothing more, even before anyone else takes the fence. With a dispatcher, the
    burst stops listing while ``max_pending_pages`` pages wait for their deferred items.
    """
    progress = progress or BurstProgress()
    repository, binding, ingestion = scope.repository, scope.binding, scope.ingestion
    mark = repository.last_mark(ingestion.id)
    cursor = mark.cursor if mark else None
    deadline = scope.clock.monotonic() + binding.options.burst_length
    info = BurstInfo(provider_name=binding.name, ingestion_id=ingestion.id, fence=scope.fence)
    with binding.provider.around(info) as context:
        while True:
            if _throttled(scope):
                progress.throttled = True
                return progress
            page = _check_page(binding.provider.next(context, cursor), binding.name)
            cursor = _stored_cursor(page)
            if page.deferred and scope.dispatcher is not None:
                _commit_deferred(scope, page, cursor, lease, progress)
            else:
                _commit(scope, page, cursor, lease, progress)
            if page.done:
                progress.done = True
                return progress
            if scope.clock.monotonic() >= deadline or should_stop():
                return progress


def _throttled(scope: BurstScope) -> bool:
    """Backpressure: too many pages still wait for their deferred items."""
    if scope.dispatcher is None or not isinstance(scope.binding.provider, DeferringProvider):
        return False
    waiting = len(scope.repository.pending_pages(scope.ingestion.id))
    limit = scope.binding.options.max_pending_pages
    if waiting < limit:
        return False
    log.info("burst paused: pages wait for details", provider=scope.binding.name, pending=waiting)
    return True


def _commit(
    scope: BurstScope,
    page: Page,
    cursor: JSONValue,
    lease: Lease | None,
    progress: BurstProgress,
) -> None:
    """One page in one transaction (its deferred items, if any, resolved here first)."""
    binding = scope.binding
    entities, fallbacks = list(page.entities), 0
    if page.deferred:
        resolved, fallbacks = resolve_inline(binding, as_items(page.deferred))
        entities += resolved
    prepared = prepare_page(entities, binding.name)
    log_rejections(binding, prepared)
    _ensure_lease(lease)
    write = PageWrite(
        prepared.entities,
        cursor,
        page.done,
        len(prepared.rejections),
        binding.priority,
        len(prepared.duplicates),
        fallbacks,
    )
    result = scope.repository.commit_page(scope.ingestion, scope.fence, write, scope.clock.now())
    progress.duplicates += report_clashes(binding, prepared, result)
    progress.pages += 1
    progress.entities += len(prepared.entities) - len(result.duplicates)
    progress.written += result.written
    progress.rejected += len(prepared.rejections)
    progress.fallbacks += fallbacks
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
    _ensure_lease(lease)
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
