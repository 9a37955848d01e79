"""Upstream events between pages and passes: deltas a provider derives, applied by the engine.

Semantics: an event-added entity enters the catalog at once and is marked into the ingestion
that is open when the event arrives, so *that pass's* sweep keeps it even if the listing had
already gone past it (or never returns it). Later passes are authoritative again: a pass whose
listing lacks the entity removes it. An event-removed ref leaves the catalog at once.

Ordering: an event runs under the provider's lock, between two steps, and writes under a fresh
fence. One that finds the lock held waits for the burst to end; a burst that lost its lock to
an event is fenced out, and the next burst writes again.
"""

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.errors import InvalidEventError
from catalog_ingest.contracts.locking import Lease, LockLostError, ProviderBusyError
from catalog_ingest.contracts.provider import IGNORED, Delta, Entity, EventResult
from catalog_ingest.contracts.states import Phase
from catalog_ingest.contracts.storage import Ingestion, RemovalPlan
from catalog_ingest.coordination.local_lock import InProcessProviderLock
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.event_delivery import deliver_event
from catalog_ingest.engine.event_deltas import EventOutcome, EventStatus
from catalog_ingest.engine.outcome import TickAction, TickOutcome
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from models.tables import source_entities
from tests.support.engine_harness import (
    PROVIDER,
    ScriptedProvider,
    build_engine,
    complete_pass,
    expected_catalog,
    options,
    read_catalog,
    read_catalog_refs,
    read_marked_refs,
    read_marks,
    read_source,
    run_until,
    strip_stamps,
    tick_when_due,
    unstamped_catalog,
)

TOPIC = "catalog.component"
SIZE = 120
PAGE_SIZE = 40
BURST_LENGTH = 5.0
EXTRA_REF = "component:default/event-only"


class EventProvider(ScriptedProvider):
    """Turns ``{"type": "added", "entity": ...}`` / ``{"type": "removed", "ref": ...}`` into
    deltas; anything else is ignored."""

    def __init__(self, source: SyntheticSource, clock: ManualClock) -> None:
        super().__init__(source, page_size=PAGE_SIZE, clock=clock, seconds_per_page=BURST_LENGTH)
        self.events: list[tuple[str, dict[str, Any]]] = []

    def supports_event_topics(self) -> Sequence[str]:
        return (TOPIC,)

    def on_event(self, topic: str, payload: Mapping[str, Any]) -> EventResult:
        self.events.append((topic, dict(payload)))
        kind = payload.get("type")
        if kind == "added":
            return Delta(added=[payload["entity"]])
        if kind == "removed":
            return Delta(removed=[payload["ref"]])
        if kind == "replaced":  # a component and its APIs, as upstream has them now
            return Delta(added=payload["entities"], replaces_apis_of=[payload["ref"]])
        if kind == "deleted":  # a component gone upstream, with whatever APIs it provided
            return Delta(removed=[payload["ref"]], replaces_apis_of=[payload["ref"]])
        if kind == "malformed":
            raise InvalidEventError("payload has no 'ref'")
        return IGNORED


def extra_entity() -> Entity:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "event-only",
            "namespace": "default",
            "annotations": {"example.com/origin": "event"},
        },
        "spec": {"type": "service", "owner": "team-events", "lifecycle": "production"},
    }


def evented(
    repository: SqlRepository, clock: ManualClock, priority: int = 0
) -> tuple[SyntheticSource, EventProvider, Engine]:
    source = SyntheticSource(size=SIZE, body_bytes=300)
    provider = EventProvider(source, clock)
    engine = build_engine(
        repository, clock, provider, options(burst_length=BURST_LENGTH), priority=priority
    )
    return source, provider, engine


def deliver(
    engine: Engine, repository: SqlRepository, clock: ManualClock, payload: dict[str, Any]
) -> EventOutcome:
    return engine.apply_event(PROVIDER, TOPIC, payload)


def open_ingestion(repository: SqlRepository) -> Ingestion:
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None
    return ingestion


def mid_pass(engine: Engine, clock: ManualClock) -> None:
    """Commit the first page of the pass (one page per burst), leaving it interstitial."""
    assert tick_when_due(engine, clock).action is TickAction.BURST


def test_an_event_added_entity_enters_the_catalog_at_once_marked_into_the_open_ingestion(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, _, engine = evented(repository, clock)
    mid_pass(engine, clock)

    outcome = deliver(engine, repository, clock, {"type": "added", "entity": extra_entity()})

    assert (outcome.status, outcome.added, outcome.removed) == (EventStatus.APPLIED, 1, 0)
    catalog = read_catalog(db)
    assert strip_stamps(catalog[EXTRA_REF]) == extra_entity()
    assert read_marked_refs(db, open_ingestion(repository).id)[EXTRA_REF] is None


def test_an_event_added_entity_survives_the_sweep_of_the_pass_it_arrived_in(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    deliver(engine, repository, clock, {"type": "added", "entity": extra_entity()})

    outcome = complete_pass(engine, clock)

    assert outcome.removed == 0
    assert unstamped_catalog(db) == expected_catalog(source) | {EXTRA_REF: extra_entity()}


def test_an_event_added_while_the_sweep_backs_off_survives_the_resumed_sweep(
    repository: SqlRepository,
    clock: ManualClock,
    db: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, provider, engine = evented(repository, clock)
    plan_removals = repository.plan_removals
    failures = [RuntimeError("sweep query timed out")]

    def flaky_plan(ingestion: Ingestion) -> RemovalPlan:
        if failures:
            raise failures.pop()
        return plan_removals(ingestion)

    monkeypatch.setattr(repository, "plan_removals", flaky_plan)
    run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)
    assert open_ingestion(repository).phase is Phase.SWEEPING
    deliver(engine, repository, clock, {"type": "added", "entity": extra_entity()})

    outcome = complete_pass(engine, clock)

    assert outcome.removed == 0
    assert provider.calls == SIZE // PAGE_SIZE
    assert unstamped_catalog(db) == expected_catalog(source) | {EXTRA_REF: extra_entity()}


def test_a_later_pass_whose_listing_lacks_an_event_added_entity_removes_it(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    deliver(engine, repository, clock, {"type": "added", "entity": extra_entity()})
    complete_pass(engine, clock)

    outcome = complete_pass(engine, clock)

    assert outcome.removed == 1
    assert unstamped_catalog(db) == expected_catalog(source)


def test_an_event_removed_ref_leaves_the_catalog_at_once(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = evented(repository, clock)
    complete_pass(engine, clock)
    ref = source.ref_of(77)
    assert ref in read_catalog_refs(db)

    deliver(engine, repository, clock, {"type": "removed", "ref": ref})

    assert ref not in read_catalog_refs(db)
    assert ref not in read_source(db)
    source.remove([77])
    assert complete_pass(engine, clock).removed == 0
    assert unstamped_catalog(db) == expected_catalog(source)


def test_an_event_removed_ref_already_read_by_the_current_pass_stays_out_of_the_catalog(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    ref = source.ref_of(3)
    ingestion = open_ingestion(repository)
    assert ref in read_marked_refs(db, ingestion.id)

    deliver(engine, repository, clock, {"type": "removed", "ref": ref})
    source.remove([3])

    assert ref not in read_catalog_refs(db)
    assert ref not in read_marked_refs(db, ingestion.id)
    assert complete_pass(engine, clock).removed == 0
    assert unstamped_catalog(db) == expected_catalog(source)


def test_an_ignored_event_changes_nothing(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, provider, engine = evented(repository, clock)
    mid_pass(engine, clock)
    ingestion = open_ingestion(repository)
    before = (
        read_catalog(db),
        read_source(db),
        read_marks(db, ingestion.id),
        read_marked_refs(db, ingestion.id),
        repository.list_ingestions(PROVIDER),
    )

    result = deliver(engine, repository, clock, {"type": "heartbeat"})

    assert result.status is EventStatus.IGNORED
    assert result.summary()["ignored"] is True
    assert provider.events == [(TOPIC, {"type": "heartbeat"})]
    assert (
        read_catalog(db),
        read_source(db),
        read_marks(db, ingestion.id),
        read_marked_refs(db, ingestion.id),
        repository.list_ingestions(PROVIDER),
    ) == before


def test_an_event_on_a_topic_the_provider_does_not_support_is_not_delivered(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, provider, engine = evented(repository, clock)
    mid_pass(engine, clock)
    catalog = read_catalog(db)

    result = engine.apply_event(
        PROVIDER, "other.topic", {"type": "added", "entity": extra_entity()}
    )

    assert result.status is EventStatus.IGNORED
    assert provider.events == []
    assert read_catalog(db) == catalog


def test_an_event_added_entity_is_stored_with_the_providers_merge_priority(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, _, engine = evented(repository, clock, priority=5)
    mid_pass(engine, clock)

    deliver(engine, repository, clock, {"type": "added", "entity": extra_entity()})

    with db.connect() as connection:
        priorities = dict(
            connection.execute(
                sa.select(source_entities.c.ref, source_entities.c.priority).where(
                    source_entities.c.source == PROVIDER
                )
            ).all()
        )
    assert {p for ref, p in priorities.items() if ref != EXTRA_REF} == {5}
    assert priorities[EXTRA_REF] == 5


def service(name: str, endpoints: Sequence[str]) -> list[Entity]:
    """A component and the APIs it provides, as a provider translates them."""
    apis = [f"{name}-{endpoint}" for endpoint in endpoints]
    component: Entity = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "type": "service",
            "owner": "team-events",
            "lifecycle": "production",
            "providesApis": apis,
        },
    }
    return [component] + [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": {"name": api, "namespace": "default"},
            "spec": {"type": "openapi", "owner": "team-events", "lifecycle": "production"},
        }
        for api in apis
    ]


SERVICE_REF = "component:default/orders"


def test_a_deleted_component_leaves_the_catalog_with_the_apis_it_provided(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = evented(repository, clock)
    complete_pass(engine, clock)
    deliver(
        engine,
        repository,
        clock,
        {"type": "replaced", "ref": SERVICE_REF, "entities": service("orders", ["rest", "grpc"])},
    )
    assert {SERVICE_REF, "api:default/orders-rest", "api:default/orders-grpc"} <= read_catalog_refs(
        db
    )

    outcome = deliver(engine, repository, clock, {"type": "deleted", "ref": SERVICE_REF})

    assert (outcome.added, outcome.removed) == (0, 3)
    assert unstamped_catalog(db) == expected_catalog(source)


def test_a_changed_component_that_lost_an_endpoint_loses_that_api_and_keeps_the_others(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    deliver(
        engine,
        repository,
        clock,
        {"type": "replaced", "ref": SERVICE_REF, "entities": service("orders", ["rest", "grpc"])},
    )

    outcome = deliver(
        engine,
        repository,
        clock,
        {"type": "replaced", "ref": SERVICE_REF, "entities": service("orders", ["rest"])},
    )

    assert (outcome.added, outcome.removed) == (2, 1)
    refs = read_catalog_refs(db)
    assert {SERVICE_REF, "api:default/orders-rest"} <= refs
    assert "api:default/orders-grpc" not in refs
    assert "api:default/orders-grpc" not in read_marked_refs(db, open_ingestion(repository).id)


def test_an_event_removes_only_its_own_providers_record_of_a_ref(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source = SyntheticSource(size=SIZE, body_bytes=300)
    provider = EventProvider(source, clock)
    other = ScriptedProvider(SyntheticSource(size=SIZE, body_bytes=300), name="other")
    engine = Engine(
        repository,
        {
            PROVIDER: ProviderBinding(provider, options(burst_length=BURST_LENGTH), 5),
            "other": ProviderBinding(other, options()),
        },
        clock,
    )
    complete_pass(engine, clock)
    complete_pass(engine, clock, "other")
    ref = source.ref_of(7)

    outcome = deliver(engine, repository, clock, {"type": "removed", "ref": ref})

    assert outcome.removed == 1
    assert ref not in read_source(db)
    assert ref in read_source(db, "other")
    assert strip_stamps(read_catalog(db)[ref], "other") == source.entity(7)


def test_a_payload_the_provider_refuses_is_an_invalid_event_and_writes_nothing(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    before = (read_catalog(db), read_marked_refs(db, open_ingestion(repository).id))

    with pytest.raises(InvalidEventError, match="no 'ref'"):
        deliver(engine, repository, clock, {"type": "malformed"})

    assert (read_catalog(db), read_marked_refs(db, open_ingestion(repository).id)) == before


# ------------------------------------------------------------------ the lock and the fence


class LostLease:
    """A lease that is lost from the start: its holder must write nothing."""

    provider = PROVIDER

    def held(self) -> bool:
        return False

    def release(self) -> None:
        pass


def locked_tick(engine: Engine, lock: InProcessProviderLock) -> TickOutcome:
    """One step under the lock, as the burst task runs it."""
    lease = lock.try_acquire(PROVIDER, 60)
    assert lease is not None
    try:
        return engine.tick(PROVIDER, lease=lease)
    finally:
        lease.release()


def added_event() -> dict[str, Any]:
    return {"type": "added", "entity": extra_entity()}


def test_an_event_that_finds_the_lock_held_waits_and_is_applied_after_the_burst(
    repository: SqlRepository,
    clock: ManualClock,
    db: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, provider, engine = evented(repository, clock)
    lock = InProcessProviderLock()
    in_burst, finish, burst_over = threading.Event(), threading.Event(), threading.Event()

    def hold_the_first_page(call: int) -> None:
        if call == 1:
            in_burst.set()
            finish.wait(10)

    provider.before_next = hold_the_first_page
    writes: list[bool] = []
    apply_delta = repository.apply_delta

    def recording_apply(ingestion: Ingestion, fence: int, *args: Any, **kwargs: Any) -> int:
        writes.append(burst_over.is_set())
        return apply_delta(ingestion, fence, *args, **kwargs)

    monkeypatch.setattr(repository, "apply_delta", recording_apply)

    def burst() -> None:
        outcome = locked_tick(engine, lock)
        assert outcome.action is TickAction.BURST
        burst_over.set()

    burst_thread = threading.Thread(target=burst)
    burst_thread.start()
    assert in_burst.wait(10)
    delivered: list[EventOutcome] = []
    event_thread = threading.Thread(
        target=lambda: delivered.append(
            deliver_event(engine, lock, PROVIDER, TOPIC, added_event(), ttl=60, wait=10)
        )
    )
    event_thread.start()
    time.sleep(0.3)
    assert (delivered, writes) == ([], [])  # waiting for the lock, not dropped
    finish.set()
    burst_thread.join(10)
    event_thread.join(10)

    assert delivered[0].status is EventStatus.APPLIED
    assert writes == [True]  # written once, after the burst
    marked = read_marked_refs(db, open_ingestion(repository).id)
    assert marked[EXTRA_REF] is None
    assert {source.ref_of(i) for i in range(PAGE_SIZE)} <= marked.keys()  # the burst's page
    assert complete_pass(engine, clock).removed == 0
    assert unstamped_catalog(db) == expected_catalog(source) | {EXTRA_REF: extra_entity()}


def test_an_event_whose_wait_for_the_lock_runs_out_is_refused_unwritten(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    lock = InProcessProviderLock()
    held = lock.try_acquire(PROVIDER, 60)
    assert held is not None
    fence = open_ingestion(repository).fence

    with pytest.raises(ProviderBusyError, match="stayed locked"):
        deliver_event(engine, lock, PROVIDER, TOPIC, added_event(), ttl=60, wait=0.2)

    assert EXTRA_REF not in read_catalog_refs(db)
    assert open_ingestion(repository).fence == fence
    held.release()
    deliver_event(engine, lock, PROVIDER, TOPIC, added_event(), ttl=60, wait=0.2)
    assert EXTRA_REF in read_catalog_refs(db)


def test_a_malformed_event_is_refused_before_waiting_for_the_lock(
    repository: SqlRepository, clock: ManualClock
) -> None:
    _, _, engine = evented(repository, clock)
    lock = InProcessProviderLock()
    assert lock.try_acquire(PROVIDER, 60) is not None
    started = time.monotonic()

    with pytest.raises(InvalidEventError, match="JSON object"):
        deliver_event(engine, lock, PROVIDER, TOPIC, ["added"], ttl=60, wait=30)  # type: ignore[arg-type]

    assert time.monotonic() - started < 5


def test_an_event_whose_lease_is_lost_writes_nothing_and_takes_no_fence(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    """The lock's new holder (a burst) must not be fenced out by the one that lost it."""
    _, _, engine = evented(repository, clock)
    mid_pass(engine, clock)
    fence = open_ingestion(repository).fence
    lost: Lease = LostLease()

    with pytest.raises(LockLostError):
        engine.apply_event(PROVIDER, TOPIC, added_event(), lease=lost)

    assert EXTRA_REF not in read_catalog_refs(db)
    assert open_ingestion(repository).fence == fence


def test_a_burst_that_lost_its_lock_to_an_event_is_fenced_out_and_the_next_burst_lands_both(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    """The burst's lock expired (a paused worker) and an event took it: the event's fence
    shuts the stale burst out; the next burst takes its own fence and the pass completes."""
    source = SyntheticSource(size=SIZE, body_bytes=300)
    provider = EventProvider(source, clock)
    provider.seconds_per_page = 0
    engine = build_engine(repository, clock, provider, options())
    lock = InProcessProviderLock()
    events: list[EventOutcome] = []

    def lose_lock_to_an_event(call: int) -> None:
        if call == 2:
            lock.break_lock(PROVIDER)
            events.append(
                deliver_event(engine, lock, PROVIDER, TOPIC, added_event(), ttl=60, wait=5)
            )

    provider.before_next = lose_lock_to_an_event

    stale = locked_tick(engine, lock)

    assert stale.action is TickAction.FENCED
    assert events[0].status is EventStatus.APPLIED
    assert EXTRA_REF in read_catalog_refs(db)
    provider.before_next = None
    assert locked_tick(engine, lock).action is TickAction.PASS_COMPLETED
    ingestion = open_ingestion(repository)
    assert [sequence for sequence, _ in read_marks(db, ingestion.id)] == [1, 2, 3]
    assert unstamped_catalog(db) == expected_catalog(source) | {EXTRA_REF: extra_entity()}
