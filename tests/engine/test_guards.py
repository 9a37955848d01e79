"""The sweep's guards against mass deletion, and how refused removals are carried forward."""

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from catalog_ingest.contracts.states import NextAction, Status
from catalog_ingest.contracts.storage import Ingestion
from catalog_ingest.coordination.local_lock import InProcessProviderLock
from catalog_ingest.engine import admin_operations
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    ScriptedProvider,
    build_engine,
    complete_pass,
    expected_catalog,
    options,
    read_catalog_refs,
    refs_of,
    tick_when_due,
    unstamped_catalog,
)

SIZE = 200
PAGE_SIZE = 50


def guarded(
    repository: SqlRepository, clock: ManualClock, provider_options: ProviderOptions
) -> tuple[SyntheticSource, ScriptedProvider, Engine]:
    """A source of 200 entities, ingested once (before any guard has anything to refuse)."""
    source = SyntheticSource(size=SIZE, body_bytes=400)
    provider = ScriptedProvider(source, page_size=PAGE_SIZE)
    engine = build_engine(repository, clock, provider, provider_options)
    complete_pass(engine, clock)
    assert len(read_catalog_refs(repository.engine)) == SIZE
    return source, provider, engine


def resting(repository: SqlRepository) -> Ingestion:
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None
    assert (ingestion.status, ingestion.next_action) == (Status.RESTING, NextAction.REST)
    return ingestion


def test_an_empty_pass_removes_nothing_when_empty_source_collections_are_rejected(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options(reject_empty_source_collections=True))
    source.remove(range(SIZE))

    outcome = complete_pass(engine, clock)

    ingestion = resting(repository)
    assert outcome.removed == 0
    assert outcome.note is not None
    assert "saw no entities" in outcome.note
    assert "rejectEmptySourceCollections" in outcome.note
    assert f"{SIZE} entities kept" in outcome.note
    assert ingestion.last_error == outcome.note
    assert ingestion.removed == 0
    assert len(read_catalog_refs(db)) == SIZE


def test_an_empty_pass_removes_everything_without_the_empty_source_guard(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options())
    source.remove(range(SIZE))

    outcome = complete_pass(engine, clock)

    assert outcome.removed == SIZE
    assert outcome.note is None
    assert read_catalog_refs(db) == set()


def test_a_pass_removing_more_than_the_threshold_removes_nothing_and_names_counts_and_threshold(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options(reject_removals_above_percentage=10))
    source.remove(range(0, SIZE, 2))

    outcome = complete_pass(engine, clock)

    ingestion = resting(repository)
    assert outcome.removed == 0
    assert outcome.note is not None
    assert "100 of 200" in outcome.note
    assert "50.0%" in outcome.note
    assert "rejectRemovalsAbovePercentage=10" in outcome.note
    assert ingestion.last_error == outcome.note
    assert ingestion.removed == 0
    assert len(read_catalog_refs(db)) == SIZE


def test_removals_refused_by_the_threshold_are_made_by_the_next_pass_allowed_to_sweep(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, provider, strict = guarded(
        repository, clock, options(reject_removals_above_percentage=10)
    )
    source.remove(range(0, SIZE, 2))
    assert complete_pass(strict, clock).removed == 0
    relaxed = build_engine(
        repository, clock, provider, options(reject_removals_above_percentage=60)
    )

    outcome = complete_pass(relaxed, clock)

    assert outcome.removed == SIZE // 2
    assert outcome.note is None
    assert resting(repository).last_error is None
    assert unstamped_catalog(db) == expected_catalog(source)


def test_refused_removals_are_carried_forward_once_the_share_falls_below_the_threshold(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options(reject_removals_above_percentage=10))
    source.remove(range(40))  # 20%: refused
    assert complete_pass(engine, clock).removed == 0
    source.removed.difference_update(range(30))  # 30 come back; 10 (5%) are still gone

    outcome = complete_pass(engine, clock)

    assert outcome.removed == 10
    assert outcome.note is None
    assert read_catalog_refs(db).isdisjoint(refs_of(source, range(30, 40)))
    assert unstamped_catalog(db) == expected_catalog(source)


def test_a_removal_share_equal_to_the_threshold_is_allowed(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options(reject_removals_above_percentage=10))
    source.remove(range(SIZE // 10))

    outcome = complete_pass(engine, clock)

    assert outcome.removed == SIZE // 10
    assert outcome.note is None
    assert unstamped_catalog(db) == expected_catalog(source)


def test_a_threshold_of_zero_refuses_any_removal(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options(reject_removals_above_percentage=0))
    source.remove([123])

    outcome = complete_pass(engine, clock)

    assert outcome.removed == 0
    assert outcome.note is not None
    assert "1 of 200" in outcome.note
    assert "rejectRemovalsAbovePercentage=0" in outcome.note
    assert source.ref_of(123) in read_catalog_refs(db)


def test_a_threshold_of_zero_lets_a_pass_without_removals_complete_without_a_note(
    repository: SqlRepository, clock: ManualClock
) -> None:
    _, _, engine = guarded(repository, clock, options(reject_removals_above_percentage=0))

    outcome = complete_pass(engine, clock)

    assert outcome.removed == 0
    assert outcome.note is None
    assert resting(repository).last_error is None


def test_without_a_threshold_any_share_of_removals_is_made(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options())
    source.remove(range(SIZE * 9 // 10))

    outcome = complete_pass(engine, clock)

    assert outcome.removed == SIZE * 9 // 10
    assert outcome.note is None
    assert unstamped_catalog(db) == expected_catalog(source)


def test_a_pass_started_at_the_instant_the_previous_one_completed_counts_its_entities_as_previous(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = guarded(repository, clock, options(reject_removals_above_percentage=10))
    source.remove([5])
    admin_operations.start(
        repository, PROVIDER, clock.now()
    )  # ends the rest without the clock moving

    outcome = complete_pass(engine, clock)

    assert outcome.note is None
    assert outcome.removed == 1
    assert unstamped_catalog(db) == expected_catalog(source)


class SmallSweepBatches(SqlRepository):
    """Sweeps in batches of 20 refs; ``after_batch`` runs after each one."""

    after_batch: Callable[[], None] = staticmethod(lambda: None)
    batches = 0

    def remove_unmarked(
        self, ingestion: Ingestion, fence: int, after_ref: str | None, limit: int, now: datetime
    ) -> tuple[int, str | None]:
        result = super().remove_unmarked(ingestion, fence, after_ref, 20, now)
        self.batches += 1
        self.after_batch()
        return result


def test_a_sweep_whose_lock_is_lost_stops_before_its_next_batch_and_the_pass_stays_open(
    db: sa.Engine, clock: ManualClock
) -> None:
    repository = SmallSweepBatches(db)
    lock = InProcessProviderLock()
    source, _, engine = guarded(
        repository, clock, options(burst_length=300, reject_removals_above_percentage=100)
    )
    removed = range(0, SIZE, 2)  # 100 refs, spread over every batch of the sweep
    source.remove(removed)
    assert tick_when_due(engine, clock).action is TickAction.REST_COMPLETED
    repository.after_batch = lambda: lock.break_lock(PROVIDER)
    lease = lock.try_acquire(PROVIDER, 60)

    outcome = engine.tick(PROVIDER, lease=lease)

    assert outcome.action is TickAction.FENCED
    assert repository.batches == 1
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None
    assert ingestion.next_action is NextAction.INGEST  # not resting: the pass is not over
    left = len(read_catalog_refs(db))
    assert SIZE - len(removed) < left < SIZE  # one batch removed, the rest still there
    repository.after_batch = lambda: None
    complete_pass(engine, clock)
    assert unstamped_catalog(db) == expected_catalog(source)
