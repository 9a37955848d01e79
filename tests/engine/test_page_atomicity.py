"""A page is atomic: a failure inside its transaction leaves nothing of it, and it is redone."""

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

import models.pages
from catalog_ingest.contracts.states import NextAction, Phase
from catalog_ingest.contracts.storage import Ingestion
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    ScriptedProvider,
    build_engine,
    complete_pass,
    expected_catalog,
    read_catalog,
    read_catalog_refs,
    read_marked_refs,
    read_marks,
    read_source,
    refs_of,
    tick_when_due,
    unstamped_catalog,
)

PAGE_SIZE = 100
PAGES = 5

# The functions models.pages calls inside a page's transaction, after the mark is inserted:
# store_entities before any catalog write, merge_refs after the source records were upserted.
INJECTION_POINTS = ("store_entities", "merge_refs")


class InjectedFailure(RuntimeError):
    """Raised inside a page's transaction by the test."""


def fail_on_call(monkeypatch: pytest.MonkeyPatch, name: str, call: int) -> list[int]:
    """Make ``models.pages.<name>`` raise on its ``call``-th call; returns the call counter."""
    original: Callable[..., Any] = getattr(models.pages, name)
    calls = [0]

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            raise InjectedFailure(f"{name} failed on call {call}")
        return original(*args, **kwargs)

    monkeypatch.setattr(models.pages, name, failing)
    return calls


def open_ingestion(repository: SqlRepository) -> Ingestion:
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None
    return ingestion


def page_refs(source: SyntheticSource, page: int) -> set[str]:
    """Refs of the 1-based ``page`` of a source without removals."""
    return refs_of(source, range((page - 1) * PAGE_SIZE, page * PAGE_SIZE))


def cursor_before(page: int) -> dict[str, int] | None:
    return None if page == 1 else {"next": (page - 1) * PAGE_SIZE}


@pytest.mark.parametrize("failing_page", [1, 3, PAGES])
@pytest.mark.parametrize("point", INJECTION_POINTS)
def test_a_page_failing_inside_its_transaction_leaves_nothing_and_is_redone_after_backoff(
    repository: SqlRepository,
    clock: ManualClock,
    db: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    failing_page: int,
) -> None:
    source = SyntheticSource(size=PAGE_SIZE * PAGES, body_bytes=500)
    provider = ScriptedProvider(source, page_size=PAGE_SIZE)
    engine = build_engine(repository, clock, provider)
    fail_on_call(monkeypatch, point, failing_page)

    outcome = engine.tick(PROVIDER)

    ingestion = open_ingestion(repository)
    committed = failing_page - 1
    kept = set().union(*(page_refs(source, page) for page in range(1, failing_page)))
    assert outcome.action is TickAction.BACKED_OFF
    assert outcome.note == f"InjectedFailure: {point} failed on call {failing_page}"
    assert ingestion.next_action is NextAction.BACKOFF
    assert ingestion.phase is Phase.LISTING
    assert (ingestion.pages, ingestion.entities) == (committed, committed * PAGE_SIZE)
    assert [sequence for sequence, _ in read_marks(db, ingestion.id)] == list(
        range(1, failing_page)
    )
    assert set(read_marked_refs(db, ingestion.id)) == kept
    assert set(read_source(db)) == kept
    assert read_catalog_refs(db) == kept
    # Every page up to the failing one was fetched once; the page after it may have been read
    # ahead while it committed (if the helper thread got to it before the failure), and was
    # thrown away. Nothing further was fetched.
    fetched = [cursor_before(page) for page in range(1, failing_page + 1)]
    read_ahead = [cursor_before(failing_page + 1)] if failing_page < PAGES else []
    assert provider.cursors in (fetched, fetched + read_ahead)
    calls_before_resume = provider.calls

    assert tick_when_due(engine, clock).action is TickAction.RESUMED
    completed = engine.tick(PROVIDER)

    marks = read_marks(db, ingestion.id)
    sequences = [sequence for sequence, _ in marks]
    assert completed.action is TickAction.PASS_COMPLETED
    assert provider.cursors[calls_before_resume] == cursor_before(failing_page)
    assert provider.cursors[calls_before_resume:] == [
        cursor_before(page) for page in range(failing_page, PAGES + 1)
    ]
    assert sequences == list(range(1, PAGES + 1))
    assert len(set(sequences)) == len(sequences)
    expected_cursors = [cursor_before(page + 1) for page in range(1, PAGES)]
    assert [cursor for _, cursor in marks] == [*expected_cursors, None]
    assert read_marked_refs(db, ingestion.id) == {
        ref: page for page in range(1, PAGES + 1) for ref in page_refs(source, page)
    }
    assert open_ingestion(repository).pages == PAGES
    assert unstamped_catalog(db) == expected_catalog(source)


@pytest.mark.parametrize("point", INJECTION_POINTS)
def test_a_failed_page_leaves_its_changed_entities_at_their_previous_version(
    repository: SqlRepository,
    clock: ManualClock,
    db: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
) -> None:
    source = SyntheticSource(size=PAGE_SIZE * PAGES, body_bytes=500)
    provider = ScriptedProvider(source, page_size=PAGE_SIZE)
    engine = build_engine(repository, clock, provider)
    complete_pass(engine, clock)
    first_pass = read_source(db)
    first_catalog = read_catalog(db)
    changed_early = list(range(10, 20))  # page 1
    changed_failing = list(range(200, 215))  # page 3
    source.change(changed_early + changed_failing)
    fail_on_call(monkeypatch, point, 3)

    outcome = tick_when_due(engine, clock)
    if outcome.action is TickAction.REST_COMPLETED:
        outcome = engine.tick(PROVIDER)

    after_failure = read_source(db)
    catalog = read_catalog(db)
    assert outcome.action is TickAction.BACKED_OFF
    assert outcome.written == len(changed_early)
    for index in changed_failing:
        ref = source.ref_of(index)
        assert after_failure[ref] == first_pass[ref]
        assert catalog[ref] == first_catalog[ref]
    for index in changed_early:
        ref = source.ref_of(index)
        assert after_failure[ref].content_hash != first_pass[ref].content_hash
        assert catalog[ref]["metadata"]["annotations"]["synthetic/revision"] == "1"

    complete_pass(engine, clock, allow_backoff=True)

    assert unstamped_catalog(db) == expected_catalog(source)
