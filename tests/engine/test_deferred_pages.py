"""Pages with deferred items: committed in two steps, finalized once, recovered when children
are lost, never swept before. The dispatcher here only records what it was asked to send; the
tests play the child tasks (``resolve_child``) themselves, in any order."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog_ingest.contracts.provider import (
    BurstInfo,
    Deferred,
    Entity,
    Gate,
    JSONValue,
    Page,
    Resolution,
    Resolve,
)
from catalog_ingest.contracts.states import Phase
from catalog_ingest.contracts.storage import DeferredItem, ItemResult, PendingPage
from catalog_ingest.coordination.local_slots import LocalRequestSlots
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.deferred_items import ChildStatus, finalize, open_resolver, resolve_child
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    complete_pass,
    options,
    read_catalog,
    run_until,
    tick_when_due,
)


def component(name: str, apis: int = 0) -> Entity:
    spec: dict[str, Any] = {"type": "service", "lifecycle": "production", "owner": "team"}
    if apis:
        spec["providesApis"] = [f"{name}-api-{i}" for i in range(apis)]
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": spec,
    }


def api(name: str) -> Entity:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": name},
        "spec": {"type": "openapi", "lifecycle": "production", "owner": "team", "definition": "x"},
    }


class DetailProvider:
    """Pages of plain components, each with some ``svc-*`` items deferred; a deferred item
    resolves to a component with two APIs, or falls back when its name is in ``failing``
    (keeping the APIs the component provided before)."""

    def __init__(self, pages: int, plain: int, services: int) -> None:
        self.pages, self.plain, self.services = pages, plain, services
        self.failing: set[str] = set()
        self.calls = 0

    @property
    def name(self) -> str:
        return PROVIDER

    def around(self, burst: BurstInfo) -> AbstractContextManager[None]:
        return nullcontext()

    def next(self, context: None, cursor: JSONValue) -> Page:
        index = cursor if isinstance(cursor, int) else 0
        entities = [component(f"plain-{index}-{i}") for i in range(self.plain)]
        deferred = [
            Deferred(
                f"svc-{index}-{i}", {"name": f"svc-{index}-{i}"}, {"component": f"svc-{index}-{i}"}
            )
            for i in range(self.services)
        ]
        done = index + 1 >= self.pages
        return Page(done, entities, None if done else index + 1, deferred)

    @contextmanager
    def resolver(self, gate: Gate) -> Iterator[Resolve]:
        def resolve(payload: JSONValue) -> Resolution:
            assert isinstance(payload, Mapping)
            name = str(payload["name"])
            with gate():
                self.calls += 1
            if name in self.failing:
                ref = f"component:default/{name}"
                return Resolution([component(name)], fallback="HTTP 503", keep_refs_of=[ref])
            return Resolution([component(name, apis=2), api(f"{name}-api-0"), api(f"{name}-api-1")])

        yield resolve


@dataclass
class RecordingDispatcher:
    sent: list[tuple[int, int, list[DeferredItem]]] = field(default_factory=list)

    def dispatch(
        self,
        provider: str,
        ingestion_id: str,
        mark_id: int,
        dispatch: int,
        items: Sequence[DeferredItem],
    ) -> None:
        self.sent.append((mark_id, dispatch, list(items)))


def build(
    repository: SqlRepository, clock: ManualClock, provider: DetailProvider, **values: Any
) -> tuple[Engine, RecordingDispatcher, ProviderBinding]:
    dispatcher = RecordingDispatcher()
    binding = ProviderBinding(provider, options(**values))
    engine = Engine(
        repository, {PROVIDER: binding}, clock, dispatcher=dispatcher, local_slots=LocalRequestSlots
    )
    return engine, dispatcher, binding


def play_children(
    repository: SqlRepository,
    binding: ProviderBinding,
    clock: ManualClock,
    batches: list[tuple[int, int, list[DeferredItem]]],
) -> list[ChildStatus]:
    with open_resolver(binding, LocalRequestSlots(4, 0)) as resolve:
        return [
            resolve_child(repository, binding, resolve, mark_id, [item.key], clock).status
            for mark_id, _dispatch, items in batches
            for item in items
        ]


def expected_refs(pages: int, plain: int, services: int) -> set[str]:
    refs = {f"component:default/plain-{p}-{i}" for p in range(pages) for i in range(plain)}
    for p in range(pages):
        for i in range(services):
            refs |= {f"component:default/svc-{p}-{i}"}
            refs |= {f"api:default/svc-{p}-{i}-api-{k}" for k in range(2)}
    return refs


def test_a_page_commits_only_when_its_last_item_is_resolved_and_only_once(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=1, plain=2, services=3)
    engine, dispatcher, binding = build(repository, clock, provider)

    outcome = tick_when_due(engine, clock)

    assert outcome.action is TickAction.BURST
    assert outcome.deferred == 3
    assert outcome.note == "1 page(s) wait for their details"
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None and ingestion.phase is Phase.AWAITING_DETAILS
    assert read_catalog(repository.engine) == {}  # nothing of the page before its details
    [(mark_id, _generation, items)] = dispatcher.sent
    assert [item.key for item in items] == ["svc-0-0", "svc-0-1", "svc-0-2"]
    assert next(dict(item.labels) for item in items) == {"component": "svc-0-0"}

    statuses = play_children(repository, binding, clock, dispatcher.sent)
    assert statuses == [ChildStatus.RECORDED, ChildStatus.RECORDED, ChildStatus.FINALIZED]
    assert set(read_catalog(repository.engine)) == expected_refs(1, 2, 3)
    assert finalize(repository, binding, mark_id, clock) is None  # never twice
    assert play_children(repository, binding, clock, dispatcher.sent) == [ChildStatus.STALE] * 3

    done = complete_pass(engine, clock)
    assert done.removed == 0
    finished = repository.get(done.ingestion_id or "")
    assert finished is not None
    assert (finished.entities, finished.duplicates, finished.fallbacks) == (2 + 3 * 3, 0, 0)


def test_the_sweep_waits_for_pending_pages(repository: SqlRepository, clock: ManualClock) -> None:
    provider = DetailProvider(pages=2, plain=1, services=1)
    engine, dispatcher, binding = build(repository, clock, provider, rest_length=1)
    listed = run_until(engine, clock, TickAction.BURST)[-1]
    assert listed.note == "2 page(s) wait for their details"
    for _ in range(3):  # ticks go on; the pass cannot complete while a page waits
        assert tick_when_due(engine, clock).action is TickAction.BURST
    play_children(repository, binding, clock, dispatcher.sent[:1])
    assert tick_when_due(engine, clock).action is TickAction.BURST
    play_children(repository, binding, clock, dispatcher.sent[1:])
    assert tick_when_due(engine, clock).action is TickAction.PASS_COMPLETED
    assert set(read_catalog(repository.engine)) == expected_refs(2, 1, 1)


def test_an_idle_page_is_dispatched_again_and_whichever_child_comes_first_counts(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=1, plain=0, services=3)
    engine, dispatcher, binding = build(repository, clock, provider, pending_page_timeout=60)
    tick_when_due(engine, clock)
    [first] = dispatcher.sent
    clock.advance(50)
    play_children(repository, binding, clock, [(first[0], first[1], first[2][:1])])  # progress

    clock.advance(30)  # 80 s after the dispatch, 30 s after the last progress
    tick_when_due(engine, clock)
    assert len(dispatcher.sent) == 1  # a page that makes progress is left alone
    clock.advance(31)
    tick_when_due(engine, clock)
    [_, again] = dispatcher.sent
    assert again[1] == first[1] + 1
    assert [item.key for item in again[2]] == ["svc-0-1", "svc-0-2"]  # only what is unresolved

    # A slow child of the first dispatch still counts; the new one finds its items done.
    assert play_children(repository, binding, clock, [(first[0], first[1], first[2][1:2])]) == [
        ChildStatus.RECORDED
    ]
    assert play_children(repository, binding, clock, [again]) == [
        ChildStatus.STALE,
        ChildStatus.FINALIZED,
    ]
    assert complete_pass(engine, clock).removed == 0
    assert set(read_catalog(repository.engine)) == expected_refs(1, 0, 3)


class LateChildRepository(SqlRepository):
    """Lists a page as pending, and only then lets its last child record (and die)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.late: tuple[int, ItemResult] | None = None

    def pending_pages(self, ingestion_id: str) -> list[PendingPage]:
        pages = super().pending_pages(ingestion_id)
        if self.late is not None:
            mark_id, result = self.late
            self.late = None
            assert self.record_resolutions(mark_id, [result], datetime.now(UTC)) == 0
        return pages


def test_a_page_resolved_while_the_burst_looks_at_it_is_committed_before_any_sweep(
    repository: SqlRepository, clock: ManualClock
) -> None:
    late = LateChildRepository(repository.engine)
    provider = DetailProvider(pages=1, plain=1, services=1)
    engine, dispatcher, _binding = build(late, clock, provider, pending_page_timeout=60)
    tick_when_due(engine, clock)
    [(mark_id, _generation, [item])] = dispatcher.sent
    clock.advance(61)
    late.late = (mark_id, ItemResult(item.key, [component("svc-0-0")]))

    outcome = tick_when_due(engine, clock)

    assert outcome.action is TickAction.PASS_COMPLETED
    assert outcome.removed == 0
    assert set(read_catalog(repository.engine)) == {
        "component:default/plain-0-0",
        "component:default/svc-0-0",
    }


def test_a_page_whose_last_child_died_before_finalizing_is_finalized_by_the_next_burst(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=1, plain=1, services=1)
    engine, dispatcher, _binding = build(repository, clock, provider)
    tick_when_due(engine, clock)
    [(mark_id, _generation, [item])] = dispatcher.sent
    remaining = repository.record_resolutions(
        mark_id, [ItemResult(item.key, [component("svc-0-0")])], clock.now()
    )
    assert remaining == 0  # ...and the child dies here, before finalize()

    assert complete_pass(engine, clock).action is TickAction.PASS_COMPLETED
    assert set(read_catalog(repository.engine)) == {
        "component:default/plain-0-0",
        "component:default/svc-0-0",
    }


def test_backpressure_stops_listing_while_too_many_pages_wait(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=6, plain=1, services=1)
    engine, dispatcher, binding = build(repository, clock, provider, max_pending_pages=2)
    outcome = tick_when_due(engine, clock)
    assert outcome.pages == 2 and len(dispatcher.sent) == 2
    assert outcome.next_action_at == clock.now()  # due again at once: children enqueue a burst
    assert tick_when_due(engine, clock).pages == 0  # still throttled
    play_children(repository, binding, clock, dispatcher.sent[:1])
    assert tick_when_due(engine, clock).pages == 1
    assert len(repository.pending_pages(outcome.ingestion_id or "")) == 2


def test_fallbacks_are_counted_and_a_canceled_pass_takes_no_late_page(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=2, plain=0, services=2)
    provider.failing = {"svc-0-1"}
    engine, dispatcher, binding = build(repository, clock, provider)
    tick_when_due(engine, clock)
    play_children(repository, binding, clock, dispatcher.sent[:1])
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None and ingestion.fallbacks == 1
    assert (
        "providesApis" not in read_catalog(repository.engine)["component:default/svc-0-1"]["spec"]
    )

    repository.request_cancel(ingestion.id, clock.now())
    assert play_children(repository, binding, clock, dispatcher.sent[1:]) == [
        ChildStatus.RECORDED,
        ChildStatus.REFUSED,
    ]
    assert "component:default/svc-1-0" not in read_catalog(repository.engine)


def test_without_a_dispatcher_a_burst_resolves_items_itself_under_the_bound(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=3, plain=2, services=4)
    provider.failing = {"svc-2-3"}
    binding = ProviderBinding(provider, options(max_concurrent_requests=2, batch_delay_ms=0))
    engine = Engine(repository, {PROVIDER: binding}, clock, local_slots=LocalRequestSlots)
    done = complete_pass(engine, clock)
    assert done.fallbacks == 1
    assert provider.calls == 12
    refs = expected_refs(3, 2, 4) - {"api:default/svc-2-3-api-0", "api:default/svc-2-3-api-1"}
    assert set(read_catalog(repository.engine)) == refs


def test_without_a_dispatcher_stale_pages_of_a_distributed_run_are_resolved_inline(
    repository: SqlRepository, clock: ManualClock
) -> None:
    """``ingest tick`` (no workers) finishes a pass whose children were lost."""
    provider = DetailProvider(pages=1, plain=1, services=2)
    engine, dispatcher, binding = build(repository, clock, provider, pending_page_timeout=60)
    tick_when_due(engine, clock)
    assert dispatcher.sent
    direct = Engine(repository, {PROVIDER: binding}, clock, local_slots=LocalRequestSlots)
    clock.advance(61)
    assert complete_pass(direct, clock).action is TickAction.PASS_COMPLETED
    assert set(read_catalog(repository.engine)) == expected_refs(1, 1, 2)


def test_a_child_task_resolves_a_group_of_items_and_records_them_together(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = DetailProvider(pages=1, plain=0, services=5)
    engine, dispatcher, binding = build(repository, clock, provider)
    tick_when_due(engine, clock)
    [(mark_id, _generation, items)] = dispatcher.sent
    keys = [item.key for item in items]
    with open_resolver(binding, LocalRequestSlots(2, 0)) as resolve:
        first = resolve_child(repository, binding, resolve, mark_id, keys[:3], clock)
        again = resolve_child(repository, binding, resolve, mark_id, keys[:3], clock)
        last = resolve_child(repository, binding, resolve, mark_id, keys, clock)
    assert (first.status, first.remaining) == (ChildStatus.RECORDED, 2)
    assert again.status is ChildStatus.STALE  # a redelivered group records nothing twice
    assert last.status is ChildStatus.FINALIZED
    assert provider.calls == 5
    assert set(read_catalog(repository.engine)) == expected_refs(1, 0, 5)


def test_a_failed_detail_keeps_the_apis_the_component_had_in_both_modes(
    repository: SqlRepository, clock: ManualClock
) -> None:
    """A partial failure removes nothing: the fallback's previous APIs stay marked, with their
    stored bodies, whether children or the burst itself resolve the items."""
    provider = DetailProvider(pages=2, plain=1, services=2)
    binding = ProviderBinding(provider, options(rest_length=1, batch_delay_ms=0))
    inline = Engine(repository, {PROVIDER: binding}, clock, local_slots=LocalRequestSlots)
    complete_pass(inline, clock)
    before = read_catalog(repository.engine)
    assert set(before) == expected_refs(2, 1, 2)

    provider.failing = {"svc-1-0"}
    done = complete_pass(inline, clock)
    assert (done.fallbacks, done.removed) == (1, 0)
    assert done.note == "1 component(s) kept their previous APIs: detail calls failed"
    assert read_catalog(repository.engine) == before

    engine, dispatcher, _ = build(repository, clock, provider, rest_length=1)
    listed = run_until(engine, clock, TickAction.BURST)[-1]
    assert listed.deferred == 4
    play_children(repository, binding, clock, dispatcher.sent)
    done = complete_pass(engine, clock)
    assert (done.removed, done.note) == (
        0,
        "1 component(s) kept their previous APIs: detail calls failed",
    )
    assert read_catalog(repository.engine) == before

    provider.failing = set()
    done = complete_pass(inline, clock)
    assert (done.fallbacks, done.removed, done.note) == (0, 0, None)
    assert read_catalog(repository.engine) == before
