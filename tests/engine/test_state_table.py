"""Every transition of the engine's state table, driven tick by tick with a ManualClock."""

import uuid
from datetime import timedelta
from typing import cast

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.provider import JSONValue, Page
from catalog_ingest.contracts.states import OPEN_TICKET, NextAction, Phase, Status
from catalog_ingest.contracts.storage import Ingestion
from catalog_ingest.engine import admin_operations
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.redaction import MAX_ERROR_LENGTH, Redactor
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    RecordingRepository,
    ScriptedProvider,
    build_engine,
    complete_pass,
    marking_ingestions,
    options,
    read_catalog,
    read_marks,
    run_until,
    tick_when_due,
    unstamped_catalog,
)

BURST_LENGTH = 10.0
BURST_INTERVAL = timedelta(seconds=30)
REST_LENGTH = timedelta(minutes=5)
BACKOFF = (5.0, 7.0, 11.0)
SECRET = "s3cret-token-value"


class UpstreamError(Exception):
    """What a provider raises when its upstream fails."""


def paced_options() -> ProviderOptions:
    return options(
        burst_length=BURST_LENGTH,
        burst_interval=BURST_INTERVAL.total_seconds(),
        rest_length=REST_LENGTH.total_seconds() / 60,
        backoff=BACKOFF,
    )


def one_page_per_burst(
    repository: SqlRepository, clock: ManualClock, size: int = 300
) -> tuple[ScriptedProvider, Engine]:
    """Three pages of 100; each page uses up the whole burst, so each burst commits one page."""
    provider = ScriptedProvider(
        SyntheticSource(size=size, body_bytes=500),
        clock=clock,
        seconds_per_page=BURST_LENGTH,
    )
    return provider, build_engine(repository, clock, provider, paced_options())


def whole_pass_per_burst(
    repository: SqlRepository, clock: ManualClock, size: int = 300
) -> tuple[ScriptedProvider, Engine]:
    """Three pages of 100 that a single burst walks to the end (the clock does not move)."""
    provider = ScriptedProvider(SyntheticSource(size=size, body_bytes=500))
    return provider, build_engine(repository, clock, provider, paced_options())


def open_ingestion(repository: SqlRepository) -> Ingestion:
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None
    return ingestion


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def test_first_tick_opens_an_ingestion_and_bursts(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    assert repository.list_ingestions(PROVIDER) == []

    outcome = engine.tick(PROVIDER)

    [ingestion] = repository.list_ingestions(PROVIDER)
    assert outcome.action is TickAction.BURST
    assert outcome.ingestion_id == ingestion.id
    assert ingestion.completion_ticket == OPEN_TICKET
    assert ingestion.pages == 1
    assert (outcome.pages, outcome.entities, outcome.written) == (1, 100, 100)
    assert provider.cursors == [None]


def test_a_burst_that_does_not_finish_goes_interstitial_after_burst_interval(
    repository: SqlRepository, clock: ManualClock
) -> None:
    _, engine = one_page_per_burst(repository, clock)
    started = clock.now()

    outcome = engine.tick(PROVIDER)

    ingestion = open_ingestion(repository)
    assert clock.now() == started + timedelta(seconds=BURST_LENGTH)
    assert ingestion.status is Status.INTERSTITIAL
    assert ingestion.next_action is NextAction.INGEST
    assert ingestion.phase is Phase.LISTING
    assert ingestion.next_action_at == clock.now() + BURST_INTERVAL
    assert outcome.next_action_at == ingestion.next_action_at


def test_a_tick_before_the_next_action_is_due_returns_not_due_and_changes_nothing(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    engine.tick(PROVIDER)
    before = open_ingestion(repository)
    marks_before = read_marks(db, before.id)
    catalog_before = read_catalog(db)
    clock.advance(BURST_INTERVAL - timedelta(seconds=1))

    outcome = engine.tick(PROVIDER)

    assert outcome.action is TickAction.NOT_DUE
    assert outcome.next_action_at == before.next_action_at
    assert open_ingestion(repository) == before
    assert read_marks(db, before.id) == marks_before
    assert read_catalog(db) == catalog_before
    assert provider.calls == 1


def test_the_final_page_leads_to_resting_for_rest_length_with_phase_done(
    repository: SqlRepository, clock: ManualClock
) -> None:
    _, engine = one_page_per_burst(repository, clock)

    actions = [tick_when_due(engine, clock).action for _ in range(3)]

    ingestion = open_ingestion(repository)
    assert actions == [TickAction.BURST, TickAction.BURST, TickAction.PASS_COMPLETED]
    assert ingestion.status is Status.RESTING
    assert ingestion.next_action is NextAction.REST
    assert ingestion.phase is Phase.DONE
    assert ingestion.next_action_at == clock.now() + REST_LENGTH
    assert ingestion.ingestion_completed_at == clock.now()
    assert ingestion.pages == 3


def test_a_due_rest_closes_the_ingestion_as_done_and_opens_a_new_one(
    repository: SqlRepository, clock: ManualClock
) -> None:
    _, engine = whole_pass_per_burst(repository, clock)
    complete_pass(engine, clock)
    rested = open_ingestion(repository)
    clock.advance_to(rested.next_action_at - timedelta(seconds=1))
    assert engine.tick(PROVIDER).action is TickAction.NOT_DUE
    clock.advance(1)

    outcome = engine.tick(PROVIDER)

    closed = repository.get(rested.id)
    opened = open_ingestion(repository)
    assert outcome.action is TickAction.REST_COMPLETED
    assert closed is not None
    assert closed.status is Status.COMPLETE
    assert closed.next_action is NextAction.DONE
    assert closed.completion_ticket != OPEN_TICKET
    assert is_uuid(closed.completion_ticket)
    assert closed.rest_completed_at == clock.now()
    assert opened.id != rested.id
    assert outcome.ingestion_id == opened.id
    assert (opened.next_action, opened.pages, opened.phase) == (NextAction.INGEST, 0, Phase.LISTING)
    assert opened.created_at == clock.now()
    assert opened.next_action_at == clock.now()


def test_a_provider_error_backs_off_with_one_attempt_the_error_and_the_first_delay(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    provider.fail_on_call(1, UpstreamError("upstream answered 503"))

    outcome = engine.tick(PROVIDER)

    ingestion = open_ingestion(repository)
    assert outcome.action is TickAction.BACKED_OFF
    assert ingestion.status is Status.BACKING_OFF
    assert ingestion.next_action is NextAction.BACKOFF
    assert ingestion.attempts == 1
    assert ingestion.last_error == "UpstreamError: upstream answered 503"
    assert outcome.note == ingestion.last_error
    assert ingestion.next_action_at == clock.now() + timedelta(seconds=BACKOFF[0])
    assert ingestion.pages == 0


def test_repeated_errors_wait_each_backoff_delay_in_turn_and_then_repeat_the_last(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    delays = [*BACKOFF, BACKOFF[-1], BACKOFF[-1]]
    for call in range(1, len(delays) + 1):
        provider.fail_on_call(call, UpstreamError(f"failure {call}"))

    observed = []
    for attempt in range(1, len(delays) + 1):
        run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)
        ingestion = open_ingestion(repository)
        assert ingestion.attempts == attempt
        assert ingestion.last_error == f"UpstreamError: failure {attempt}"
        observed.append((ingestion.next_action_at - clock.now()).total_seconds())

    assert observed == delays


def test_a_due_backoff_resumes_from_the_last_marks_cursor_without_refetching_pages(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    provider, engine = whole_pass_per_burst(repository, clock)
    provider.fail_on_call(3, UpstreamError("connection reset"))
    failed = engine.tick(PROVIDER)
    ingestion = open_ingestion(repository)
    assert failed.action is TickAction.BACKED_OFF
    assert failed.pages == 2
    last_cursor = read_marks(db, ingestion.id)[-1][1]
    assert last_cursor == {"next": 200}

    resumed = tick_when_due(engine, clock)

    after_resume = open_ingestion(repository)
    assert resumed.action is TickAction.RESUMED
    assert after_resume.next_action is NextAction.INGEST
    assert after_resume.next_action_at == clock.now()
    assert provider.calls == 3

    completed = engine.tick(PROVIDER)

    assert completed.action is TickAction.PASS_COMPLETED
    assert provider.cursors[3] == last_cursor
    assert provider.cursors[3:] == [{"next": 200}]
    assert provider.cursors == [None, {"next": 100}, {"next": 200}, {"next": 200}]
    assert [sequence for sequence, _ in read_marks(db, ingestion.id)] == [1, 2, 3]


def test_a_successful_burst_resets_attempts_and_clears_the_last_error(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    provider.fail_on_call(1, UpstreamError("first"))
    provider.fail_on_call(2, UpstreamError("second"))
    run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)
    run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)
    assert open_ingestion(repository).attempts == 2

    burst = run_until(engine, clock, TickAction.BURST)[-1]

    ingestion = open_ingestion(repository)
    assert burst.pages == 1
    assert ingestion.attempts == 0
    assert ingestion.last_error is None
    assert ingestion.status is Status.INTERSTITIAL


def test_a_pass_completing_after_an_error_resets_attempts_and_clears_the_last_error(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider, engine = whole_pass_per_burst(repository, clock)
    provider.fail_on_call(2, UpstreamError("flaky"))
    run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)

    complete_pass(engine, clock)

    ingestion = open_ingestion(repository)
    assert ingestion.status is Status.RESTING
    assert ingestion.attempts == 0
    assert ingestion.last_error is None


def test_start_during_a_pass_closes_it_as_canceled_and_opens_a_new_one(
    db: sa.Engine, clock: ManualClock
) -> None:
    repository = RecordingRepository(db)
    provider, engine = one_page_per_burst(repository, clock)
    engine.tick(PROVIDER)
    running = open_ingestion(repository)

    admin_operations.start(repository, PROVIDER, clock.now())
    assert open_ingestion(repository).next_action is NextAction.CANCEL
    outcome = engine.tick(PROVIDER)

    [closed] = repository.closed
    opened = open_ingestion(repository)
    assert outcome.action is TickAction.CANCELED
    assert closed.id == running.id
    assert closed.status is Status.COMPLETE
    assert closed.next_action is NextAction.CANCELED
    assert is_uuid(closed.completion_ticket)
    assert closed.rest_completed_at is None
    assert opened.id != running.id
    assert outcome.ingestion_id == opened.id
    assert (opened.next_action, opened.pages) == (NextAction.INGEST, 0)
    assert engine.tick(PROVIDER).action is TickAction.BURST
    assert provider.cursors == [None, None]


def test_a_paused_provider_does_nothing_on_ticks_until_triggered(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    provider, engine = whole_pass_per_burst(repository, clock)
    complete_pass(engine, clock)
    catalog = read_catalog(db)
    calls = provider.calls
    assert marking_ingestions(db) != set()
    admin_operations.cleanup(repository, [PROVIDER], clock.now())
    paused = open_ingestion(repository)
    assert (paused.status, paused.next_action) == (Status.PAUSED, NextAction.PAUSE)
    assert marking_ingestions(db) == set()

    outcomes = []
    for _ in range(3):
        clock.advance(timedelta(days=2))
        outcomes.append(engine.tick(PROVIDER).action)

    assert outcomes == [TickAction.PAUSED] * 3
    assert engine.next_due(PROVIDER) is None
    assert open_ingestion(repository) == paused
    assert provider.calls == calls
    assert read_catalog(db) == catalog

    admin_operations.trigger(repository, PROVIDER, clock.now())
    outcome = engine.tick(PROVIDER)

    assert outcome.action is TickAction.PASS_COMPLETED
    assert provider.cursors[calls] is None


def test_trigger_makes_a_future_next_action_due_now(
    repository: SqlRepository, clock: ManualClock
) -> None:
    _, engine = one_page_per_burst(repository, clock)
    engine.tick(PROVIDER)
    assert open_ingestion(repository).next_action_at > clock.now()

    admin_operations.trigger(repository, PROVIDER, clock.now())

    ingestion = open_ingestion(repository)
    assert ingestion.next_action_at == clock.now()
    assert ingestion.next_action is NextAction.INGEST
    assert engine.tick(PROVIDER).action is TickAction.BURST


def test_trigger_during_a_rest_ends_it_now(repository: SqlRepository, clock: ManualClock) -> None:
    _, engine = whole_pass_per_burst(repository, clock)
    complete_pass(engine, clock)

    admin_operations.trigger(repository, PROVIDER, clock.now())

    assert engine.tick(PROVIDER).action is TickAction.REST_COMPLETED


def test_reset_purges_ingestion_state_but_keeps_catalog_entities(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    complete_pass(engine, clock)
    assert tick_when_due(engine, clock).action is TickAction.REST_COMPLETED
    assert tick_when_due(engine, clock).action is TickAction.BURST
    before = repository.list_ingestions(PROVIDER)
    assert len(before) == 2
    catalog = read_catalog(db)

    admin_operations.reset(repository, PROVIDER, clock.now())

    [fresh] = repository.list_ingestions(PROVIDER)
    assert fresh.id not in {ingestion.id for ingestion in before}
    assert (fresh.completion_ticket, fresh.pages, fresh.next_action) == (
        OPEN_TICKET,
        0,
        NextAction.INGEST,
    )
    assert all(read_marks(db, ingestion.id) == [] for ingestion in before)
    assert marking_ingestions(db) == set()
    assert read_catalog(db) == catalog
    calls = provider.calls
    engine.tick(PROVIDER)
    assert provider.cursors[calls] is None


def test_clear_finished_keeps_only_the_newest_completed_ingestion(
    repository: SqlRepository, clock: ManualClock
) -> None:
    done: list[str] = []
    for canceled in (False, False, True, False, True):
        ingestion = repository.open_ingestion(PROVIDER, clock.now())
        fence = repository.take_fence(ingestion.id)
        clock.advance(60)
        repository.close(ingestion.id, fence, clock.now(), canceled=canceled)
        if not canceled:
            done.append(ingestion.id)
    still_open = repository.open_ingestion(PROVIDER, clock.now())

    result = admin_operations.clear_finished(repository, PROVIDER)

    remaining = {ingestion.id for ingestion in repository.list_ingestions(PROVIDER)}
    assert remaining == {done[-1], still_open.id}
    assert "deleted 4" in result.message


def test_the_engine_keeps_only_the_newest_completed_ingestion_across_passes(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    _, engine = whole_pass_per_burst(repository, clock)
    complete_pass(engine, clock)
    completed = []
    for _ in range(3):
        completed.append(open_ingestion(repository).id)
        complete_pass(engine, clock)

    ingestions = repository.list_ingestions(PROVIDER)
    finished = [i.id for i in ingestions if i.completion_ticket != OPEN_TICKET]
    assert finished == [completed[-1]]
    assert len(ingestions) == 2
    assert marking_ingestions(db) == {ingestion.id for ingestion in ingestions}


def test_last_error_never_contains_a_configured_secret_or_a_bearer_token(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = ScriptedProvider(SyntheticSource(size=100, body_bytes=500))
    engine = build_engine(repository, clock, provider, paced_options(), redactor=Redactor([SECRET]))
    provider.fail_on_call(
        1,
        UpstreamError(
            f"GET /api/v1/orgs?token={SECRET} failed with 401; sent key {SECRET} and "
            "headers {'Authorization': 'Bearer xyz'}; retry with Authorization: Bearer xyz"
        ),
    )

    outcome = engine.tick(PROVIDER)

    last_error = open_ingestion(repository).last_error
    assert outcome.action is TickAction.BACKED_OFF
    assert last_error is not None
    assert last_error.startswith("UpstreamError: GET /api/v1/orgs?token=")
    for text in (last_error, outcome.note or ""):
        assert SECRET not in text
        assert "xyz" not in text
    assert "Bearer ***" in last_error


def test_last_error_is_truncated_to_at_most_4096_characters(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = ScriptedProvider(SyntheticSource(size=100, body_bytes=500))
    engine = build_engine(repository, clock, provider, paced_options())
    provider.fail_on_call(1, UpstreamError("x" * 100_000))

    engine.tick(PROVIDER)

    last_error = open_ingestion(repository).last_error
    assert last_error is not None
    assert MAX_ERROR_LENGTH == 4096
    assert len(last_error) <= 4096
    assert last_error.startswith("UpstreamError: xxx")


def test_invalid_entities_are_rejected_one_by_one_and_the_page_still_commits(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source = SyntheticSource(size=200, body_bytes=500, invalid_every=10)
    provider = ScriptedProvider(source)
    engine = build_engine(repository, clock, provider, paced_options())

    outcome = engine.tick(PROVIDER)

    ingestion = open_ingestion(repository)
    valid = [i for i in range(200) if i % 10 != 9]
    assert outcome.action is TickAction.PASS_COMPLETED
    assert outcome.rejected == 20
    assert ingestion.rejected == 20
    assert ingestion.pages == 2
    assert outcome.entities == len(valid) == 180
    assert unstamped_catalog(db) == {source.ref_of(i): source.entity(i) for i in valid}
    assert not any("bad name" in ref for ref in read_catalog(db))


class SetCursorProvider(ScriptedProvider):
    """Returns a set inside its cursor: not JSON, so not storable."""

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        page = super().next(context, cursor)
        return Page(done=False, entities=page.entities, cursor=cast(JSONValue, {"seen": {1, 2}}))


def test_a_cursor_that_is_not_json_backs_off_with_an_error_naming_the_provider(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    provider = SetCursorProvider(SyntheticSource(size=300, body_bytes=500), name="set-cursors")
    engine = build_engine(repository, clock, provider, paced_options())

    outcome = engine.tick("set-cursors")

    ingestion = repository.get_open("set-cursors")
    assert ingestion is not None
    assert outcome.action is TickAction.BACKED_OFF
    assert ingestion.next_action is NextAction.BACKOFF
    assert ingestion.last_error is not None
    assert ingestion.last_error.startswith(
        "ProviderContractError: provider set-cursors: cursor is not JSON-serialisable"
    )
    assert ingestion.pages == 0
    assert read_marks(db, ingestion.id) == []
    assert read_catalog(db) == {}


@pytest.mark.parametrize("failing_call", [1, 2])
def test_start_during_a_backoff_cancels_the_pass(
    repository: SqlRepository, clock: ManualClock, failing_call: int
) -> None:
    provider, engine = one_page_per_burst(repository, clock)
    provider.fail_on_call(failing_call, UpstreamError("down"))
    run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)

    admin_operations.start(repository, PROVIDER, clock.now())

    assert engine.tick(PROVIDER).action is TickAction.CANCELED
    assert open_ingestion(repository).attempts == 0


def test_start_while_the_first_page_is_being_fetched_cancels_the_running_burst(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = ScriptedProvider(SyntheticSource(size=500), page_size=100)
    engine = build_engine(repository, clock, provider)

    def operator_starts(call: int) -> None:  # nothing committed yet, but a burst is running
        if call == 1:
            admin_operations.start(repository, PROVIDER, clock.now())

    provider.before_next = operator_starts
    stopped = engine.tick(PROVIDER)

    assert stopped.action is TickAction.STOPPED
    assert stopped.pages == 0
    assert engine.tick(PROVIDER).action is TickAction.CANCELED
