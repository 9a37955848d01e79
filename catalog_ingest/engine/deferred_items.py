"""Deferred items (detail fan-out): resolve them inline or in child tasks, finalize pages.

A page that carries :class:`~catalog_ingest.contracts.provider.Deferred` items is committed in
two steps.
With a :class:`Dispatcher` (the Celery workers), the burst commits the page's mark and cursor at
once and dispatches one child task per item; each child resolves its item under the global
request slots and records the result; the child that records the last one finalizes the page
(marks and catalog writes, one transaction, once). Without a dispatcher (direct engine use), the
burst resolves the items itself, a bounded number at a time, and commits the page normally.

Recovery: a page whose children were lost (worker killed, broker restarted) has its unresolved
items dispatched again once it was idle (no dispatch, no result) for ``pending_page_timeout``;
a slow child of the earlier dispatch still counts, an item's first result wins. A page whose
last child died between recording and finalizing is finalized by the next burst, and the sweep
waits for a fresh count of waiting pages to be zero.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from catalog_ingest.contracts.errors import ContractViolationError
from catalog_ingest.contracts.provider import Deferred, DeferringProvider, Entity, Resolve
from catalog_ingest.contracts.request_slots import RequestSlots, SlotsFactory
from catalog_ingest.contracts.states import NextAction, Phase
from catalog_ingest.contracts.storage import (
    DeferredItem,
    Ingestion,
    IngestionRepository,
    ItemResult,
    PageResult,
    PageWrite,
)
from catalog_ingest.engine import event_log
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.carry_forward import carry_forward
from catalog_ingest.engine.clock import Clock
from catalog_ingest.engine.entity_preparation import prepare_page
from catalog_ingest.engine.reporting import log_rejections, report_clashes

log = event_log.get_logger(__name__)

SLOT_WAIT = 600.0
"""Seconds a resolver may wait for a request slot before its call fails."""


class NotDeferringError(ContractViolationError):
    """A page carried deferred items but its provider cannot resolve them."""


class NoLocalSlotsError(ContractViolationError):
    """Items must be resolved in this process but the engine has no in-process slots."""


class Dispatcher(Protocol):
    """Sends one child task per deferred item (the Celery implementation is in ``workers``)."""

    def dispatch(
        self,
        provider: str,
        ingestion_id: str,
        mark_id: int,
        dispatch: int,
        items: Sequence[DeferredItem],
    ) -> None: ...


def deferring(binding: ProviderBinding) -> DeferringProvider:
    provider = binding.provider
    if not isinstance(provider, DeferringProvider):
        raise NotDeferringError(
            f"provider {binding.name}: a page carried deferred items but the provider has no "
            "resolver()"
        )
    return provider


def as_items(deferred: Sequence[Deferred]) -> list[DeferredItem]:
    return [DeferredItem(item.key, item.payload, dict(item.labels)) for item in deferred]


def local_slots_for(binding: ProviderBinding, local_slots: SlotsFactory | None) -> RequestSlots:
    """In-process request slots with the provider's bound, for detail calls made here."""
    if local_slots is None:
        raise NoLocalSlotsError(
            f"provider {binding.name}: deferred items must be resolved in this process, but the "
            "engine was built with neither a dispatcher nor in-process request slots"
        )
    options = binding.options
    return local_slots(options.max_concurrent_requests, options.batch_delay)


@dataclass(frozen=True, slots=True)
class Resolved:
    """What resolving a page's items in this process gave."""

    entities: list[Entity]
    fallbacks: int
    keep_refs_of: list[str]


def resolve_inline(
    binding: ProviderBinding, items: Sequence[DeferredItem], local_slots: SlotsFactory | None
) -> Resolved:
    """Resolve items in this process, ``max_concurrent_requests`` calls at a time, each request
    slot resting ``batch_delay_ms`` after a call."""
    options = binding.options
    slots = local_slots_for(binding, local_slots)
    with (
        open_resolver(binding, slots) as resolve,
        ThreadPoolExecutor(
            options.max_concurrent_requests, thread_name_prefix=f"resolve-{binding.name}"
        ) as pool,
    ):
        resolutions = list(pool.map(resolve, [item.payload for item in items]))
    return Resolved(
        [entity for resolution in resolutions for entity in resolution.entities],
        sum(1 for resolution in resolutions if resolution.fallback is not None),
        [ref for resolution in resolutions for ref in resolution.keep_refs_of],
    )


def finalize(
    repository: IngestionRepository, binding: ProviderBinding, mark_id: int, clock: Clock
) -> PageResult | None:
    """Commit a fully resolved page; ``None`` when someone else did, or its pass is over."""
    content = repository.page_content(mark_id)
    if content is None:
        return None
    carried = carry_forward(repository, binding.name, content.entities, content.keep_refs_of)
    prepared = prepare_page(carried.entities, binding.name, binding.options.max_entity_bytes)
    log_rejections(binding, prepared)
    write = PageWrite(
        prepared.entities,
        cursor=None,
        done=False,
        rejected=len(prepared.rejections),
        priority=binding.priority,
        duplicates=len(prepared.duplicates),
        fallbacks=content.fallbacks,
        kept_refs=carried.kept_refs,
        ttl_seconds=binding.options.ttl_seconds,
        merge_replace=binding.options.merge == "replace",
    )
    result = repository.finalize_page(mark_id, write, clock.now())
    if result is not None:
        report_clashes(binding, prepared, result)
        log.debug(
            "deferred page finalized",
            provider=binding.name,
            sequence=result.sequence,
            written=result.written,
        )
    return result


class ChildStatus(StrEnum):
    STALE = "stale"
    """The items were resolved already (by another child), or their page is committed or gone."""
    RECORDED = "recorded"
    """The result is stored; other items of the page are still pending."""
    FINALIZED = "finalized"
    """This was the page's last item: the page is committed."""
    REFUSED = "refused"
    """The page's pass no longer accepts writes (canceled, reset)."""


@dataclass(frozen=True, slots=True)
class ChildOutcome:
    status: ChildStatus
    remaining: int = 0
    fallbacks: int = 0


def open_resolver(binding: ProviderBinding, slots: RequestSlots) -> AbstractContextManager[Resolve]:
    """The provider's resolver, every upstream call of it taking one of ``slots``."""
    return deferring(binding).resolver(lambda: slots.hold(SLOT_WAIT))


def resolve_child(
    repository: IngestionRepository,
    binding: ProviderBinding,
    resolve: Resolve,
    mark_id: int,
    keys: Sequence[str],
    clock: Clock,
) -> ChildOutcome:
    """What one child task does: resolve its items (one after the other, each call under a
    request slot), record them in one transaction, and finalize the page if they were its
    last. ``resolve`` comes from :func:`open_resolver` (workers keep one open per provider).

    An item whose resolution raises (no request slot in time, a bug) ends the group: what was
    resolved before it is recorded, the rest stays pending for a later dispatch.
    """
    items = repository.deferred_items(mark_id, keys)
    if not items:
        return ChildOutcome(ChildStatus.STALE)
    results = []
    for item in items:
        try:
            resolution = resolve(item.payload)
        except Exception as error:
            log.warning(
                "deferred item not resolved; left for a later dispatch",
                provider=binding.name,
                item=item.key,
                error=f"{type(error).__name__}: {error}",
            )
            break
        results.append(
            ItemResult(
                item.key,
                list(resolution.entities),
                resolution.fallback,
                list(resolution.keep_refs_of),
            )
        )
    fallbacks = sum(1 for result in results if result.fallback is not None)
    remaining = repository.record_resolutions(mark_id, results, clock.now()) if results else None
    if remaining is None:
        return ChildOutcome(ChildStatus.STALE)
    if remaining > 0:
        return ChildOutcome(ChildStatus.RECORDED, remaining, fallbacks)
    finalized = finalize(repository, binding, mark_id, clock)
    status = ChildStatus.FINALIZED if finalized is not None else ChildStatus.REFUSED
    return ChildOutcome(status, 0, fallbacks)


def wants_burst(repository: IngestionRepository, ingestion_id: str) -> bool:
    """After a page was finalized: is the pass waiting for a burst (more listing, or the
    sweep once no page is pending)?"""
    ingestion = repository.get(ingestion_id)
    if ingestion is None or ingestion.next_action is not NextAction.INGEST:
        return False
    if ingestion.phase is Phase.LISTING:
        return True
    return ingestion.phase is Phase.AWAITING_DETAILS and not repository.pending_pages(ingestion_id)


def settle(
    repository: IngestionRepository,
    binding: ProviderBinding,
    ingestion: Ingestion,
    fence: int,
    dispatcher: Dispatcher | None,
    local_slots: SlotsFactory | None,
    clock: Clock,
) -> int:
    """Finalize pages whose items are all resolved; dispatch again (or, without a dispatcher,
    resolve here) the items of pages idle for ``pending_page_timeout``. Returns the number of
    pages still waiting, counted afresh at the end: the sweep runs only when it is 0."""
    timeout = binding.options.pending_page_timeout_delta
    for page in repository.pending_pages(ingestion.id):
        now = clock.now()
        if page.pending and page.active_at is not None and now - page.active_at < timeout:
            continue
        renewed = None
        if page.pending:
            renewed = repository.redispatch(ingestion.id, fence, page.mark_id, now)
        if renewed is None:  # every item is resolved (maybe just now): the page is ready
            finalize(repository, binding, page.mark_id, clock)
            continue
        generation, items = renewed
        log.warning(
            "page waited too long for its details; dispatching them again",
            provider=binding.name,
            sequence=page.sequence,
            items=len(items),
            generation=generation,
        )
        if dispatcher is not None:
            dispatcher.dispatch(binding.name, ingestion.id, page.mark_id, generation, items)
        else:
            _resolve_here(repository, binding, page.mark_id, items, local_slots, clock)
    return len(repository.pending_pages(ingestion.id))


def _resolve_here(
    repository: IngestionRepository,
    binding: ProviderBinding,
    mark_id: int,
    items: Sequence[DeferredItem],
    local_slots: SlotsFactory | None,
    clock: Clock,
) -> None:
    """Resolve a pending page's items in this process (and finalize it when they are done)."""
    slots = local_slots_for(binding, local_slots)
    keys = [item.key for item in items]
    with open_resolver(binding, slots) as resolve:
        resolve_child(repository, binding, resolve, mark_id, keys, clock)
