"""Upstream events between pages and passes: deltas a provider derives, applied by the engine.

Semantics: an event-added entity enters the catalog at once and is marked into the ingestion
that is open when the event arrives, so *that pass's* sweep keeps it even if the listing had
already gone past it (or never returns it). Later passes are authoritative again: a pass whose
listing lacks the entity removes it. An event-removed ref leaves the catalog at once.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.provider import IGNORED, Delta, Entity, EventResult
from catalog_ingest.contracts.states import Phase
from catalog_ingest.contracts.storage import Ingestion, RemovalPlan
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.event_deltas import apply_event
from catalog_ingest.engine.outcome import TickAction
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
        if payload.get("type") == "added":
            return Delta(added=[payload["entity"]])
        if payload.get("type") == "removed":
            return Delta(removed=[payload["ref"]])
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
) -> Delta | None:
    return apply_event(repository, engine.binding(PROVIDER), TOPIC, payload, clock)


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

    delta = deliver(engine, repository, clock, {"type": "added", "entity": extra_entity()})

    assert isinstance(delta, Delta)
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

    assert result is None
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

    result = apply_event(
        repository,
        engine.binding(PROVIDER),
        "other.topic",
        {"type": "added", "entity": extra_entity()},
        clock,
    )

    assert result is None
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
