"""``start`` (twice, during a rest, mid-pass) never makes the next sweep lose removals.

Backstage's engine picks "the previous ingestion" without an order, so a second ``start`` or a
``start`` during a rest can make the sweep compare against the wrong pass and keep entities that
disappeared upstream. Each scenario runs several times with different removals.
"""

import random

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.states import NextAction
from catalog_ingest.engine import admin_operations
from catalog_ingest.engine.clock import ManualClock
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

SIZE = 120
PAGE_SIZE = 30
BURST_LENGTH = 5.0
REPETITIONS = range(7)
FEWER_REPETITIONS = range(4)


def ingested_once(
    repository: SqlRepository, clock: ManualClock, size: int = SIZE
) -> tuple[SyntheticSource, ScriptedProvider, Engine]:
    """A first pass completed (in one burst), resting; from then on each burst reads one page."""
    source = SyntheticSource(size=size, body_bytes=300)
    provider = ScriptedProvider(source, page_size=PAGE_SIZE, clock=clock)
    engine = build_engine(repository, clock, provider, options(burst_length=BURST_LENGTH))
    complete_pass(engine, clock)
    provider.seconds_per_page = BURST_LENGTH  # each page now uses up its burst
    return source, provider, engine


def remove_upstream(source: SyntheticSource, repetition: int, count: int) -> list[int]:
    removed = source.sample(count + repetition, random.Random(repetition))
    source.remove(removed)
    return removed


def assert_removed_and_equal(db: sa.Engine, source: SyntheticSource, removed: list[int]) -> None:
    assert read_catalog_refs(db).isdisjoint(refs_of(source, removed))
    assert unstamped_catalog(db) == expected_catalog(source)


@pytest.mark.parametrize("repetition", REPETITIONS)
def test_start_twice_in_a_row_never_loses_removals(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine, repetition: int
) -> None:
    source, _, engine = ingested_once(repository, clock)
    removed = remove_upstream(source, repetition, 12)
    ticks_between = repetition % 3  # 0: back to back; 1: after the rest ended; 2: mid-pass

    admin_operations.start(repository, PROVIDER, clock.now())
    for _ in range(ticks_between):
        tick_when_due(engine, clock)
    admin_operations.start(repository, PROVIDER, clock.now())
    outcome = complete_pass(engine, clock)

    assert outcome.removed == len(removed)
    assert_removed_and_equal(db, source, removed)
    assert complete_pass(engine, clock).removed == 0
    assert_removed_and_equal(db, source, removed)


@pytest.mark.parametrize("repetition", FEWER_REPETITIONS)
def test_start_during_a_rest_never_loses_removals(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine, repetition: int
) -> None:
    source, _, engine = ingested_once(repository, clock)
    removed = remove_upstream(source, repetition, 9)
    clock.advance(60 * (repetition + 1))  # somewhere inside the 30-minute rest
    rest = repository.get_open(PROVIDER)
    assert rest is not None
    assert rest.next_action is NextAction.REST
    assert rest.next_action_at > clock.now()

    admin_operations.start(repository, PROVIDER, clock.now())
    assert engine.tick(PROVIDER).action is TickAction.REST_COMPLETED
    outcome = complete_pass(engine, clock)

    assert outcome.removed == len(removed)
    assert_removed_and_equal(db, source, removed)


@pytest.mark.parametrize("repetition", FEWER_REPETITIONS)
def test_start_in_the_middle_of_a_pass_never_loses_removals(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine, repetition: int
) -> None:
    source, _, engine = ingested_once(repository, clock)
    assert tick_when_due(engine, clock).action is TickAction.REST_COMPLETED
    pages_before_cancel = 1 + repetition % 3
    for _ in range(pages_before_cancel):
        assert tick_when_due(engine, clock).action is TickAction.BURST
    removed = remove_upstream(source, repetition, 15)  # on pages already read and still ahead

    admin_operations.start(repository, PROVIDER, clock.now())
    assert engine.tick(PROVIDER).action is TickAction.CANCELED
    outcome = complete_pass(engine, clock)

    assert outcome.removed == len(removed)
    assert_removed_and_equal(db, source, removed)


@pytest.mark.parametrize("repetition", range(3))
def test_start_while_a_burst_is_running_never_loses_removals(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine, repetition: int
) -> None:
    source, provider, engine = ingested_once(repository, clock)
    removed = remove_upstream(source, repetition, 10)
    assert tick_when_due(engine, clock).action is TickAction.REST_COMPLETED
    provider.seconds_per_page = 0  # the next burst would walk the whole pass...
    start_on_call = provider.calls + 2 + repetition

    def operator_starts(call: int) -> None:  # ...but an operator starts meanwhile
        if call == start_on_call:
            admin_operations.start(repository, PROVIDER, clock.now())

    provider.before_next = operator_starts
    stopped = engine.tick(PROVIDER)
    provider.before_next = None

    assert stopped.action is TickAction.STOPPED
    # The call that starts the new pass reads ahead while the page before it commits: that
    # commit wins or is refused, depending on which transaction comes first.
    assert stopped.pages in (repetition, 1 + repetition)
    assert engine.tick(PROVIDER).action is TickAction.CANCELED
    outcome = complete_pass(engine, clock)
    assert outcome.removed == len(removed)
    assert_removed_and_equal(db, source, removed)


def test_entities_first_ingested_by_a_canceled_pass_and_then_removed_upstream_are_removed(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = ingested_once(repository, clock)
    added = source.add(2 * PAGE_SIZE)  # two more pages at the end of the walk
    assert tick_when_due(engine, clock).action is TickAction.REST_COMPLETED
    for _ in range(SIZE // PAGE_SIZE + 1):  # up to and including the first added page
        assert tick_when_due(engine, clock).action is TickAction.BURST
    orphans = added[:PAGE_SIZE]
    assert refs_of(source, orphans) <= read_catalog_refs(db)
    admin_operations.start(repository, PROVIDER, clock.now())
    assert engine.tick(PROVIDER).action is TickAction.CANCELED
    source.remove(orphans)

    outcome = complete_pass(engine, clock)

    assert outcome.removed == len(orphans)
    assert_removed_and_equal(db, source, orphans)
