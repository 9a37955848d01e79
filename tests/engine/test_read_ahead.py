"""Read-ahead: the next page is fetched while the current one commits, one call at a time."""

import threading
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.provider import JSONValue, Page
from catalog_ingest.contracts.storage import Ingestion, PageResult, PageWrite
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.read_ahead import ReadAhead
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    ScriptedProvider,
    build_engine,
    complete_pass,
    expected_catalog,
    options,
    read_marks,
    unstamped_catalog,
)

PAGE_SIZE = 20
COMMIT_SECONDS = 0.15


class TimedProvider(ScriptedProvider):
    """Records when each call ran, on which thread, and how many calls ran at once."""

    def __init__(self, source: SyntheticSource) -> None:
        super().__init__(source, page_size=PAGE_SIZE)
        self.intervals: list[tuple[float, float]] = []
        self.threads: set[str] = set()
        self.running = 0
        self.most_at_once = 0
        self._guard = threading.Lock()

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        with self._guard:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        started = time.monotonic()
        try:
            time.sleep(0.02)
            return super().next(context, cursor)
        finally:
            self.intervals.append((started, time.monotonic()))
            self.threads.add(threading.current_thread().name)
            with self._guard:
                self.running -= 1


class SlowCommits(SqlRepository):
    """Page commits that take a while, and, when given a clock, advance it as they go."""

    def __init__(self, db: sa.Engine, clock: ManualClock | None = None, seconds: float = 0.0):
        super().__init__(db)
        self.clock, self.seconds = clock, seconds
        self.intervals: list[tuple[float, float]] = []

    def commit_page(
        self, ingestion: Ingestion, fence: int, page: PageWrite, now: datetime
    ) -> PageResult:
        started = time.monotonic()
        # Real time too when the clock is manual: the read-ahead thread gets to start its fetch.
        time.sleep(COMMIT_SECONDS if self.clock is None else 0.05)
        result = super().commit_page(ingestion, fence, page, now)
        if self.clock is not None:
            self.clock.advance(self.seconds)
        self.intervals.append((started, time.monotonic()))
        return result


def test_the_next_page_is_fetched_while_the_current_one_commits(
    db: sa.Engine, clock: ManualClock
) -> None:
    source = SyntheticSource(size=PAGE_SIZE * 5, body_bytes=300)
    provider = TimedProvider(source)
    repository = SlowCommits(db)
    engine = build_engine(repository, clock, provider)

    outcome = complete_pass(engine, clock)

    assert outcome.action is TickAction.PASS_COMPLETED
    assert len(repository.intervals) == len(provider.intervals) == 5  # nothing fetched in vain
    for page, (commit_start, commit_end) in enumerate(repository.intervals[:-1]):
        fetch_start, fetch_end = provider.intervals[page + 1]
        overlap = min(commit_end, fetch_end) - max(commit_start, fetch_start)
        assert overlap > 0, f"page {page + 2} was not fetched while page {page + 1} committed"
    assert provider.most_at_once == 1
    assert any(name.startswith("read-ahead") for name in provider.threads)
    assert unstamped_catalog(db) == expected_catalog(source)


def test_a_page_read_ahead_when_the_burst_runs_out_of_time_is_fetched_again_next_burst(
    db: sa.Engine, clock: ManualClock
) -> None:
    source = SyntheticSource(size=PAGE_SIZE * 6, body_bytes=300)
    provider = ScriptedProvider(source, page_size=PAGE_SIZE)
    repository = SlowCommits(db, clock, seconds=4)  # a burst of 10 s commits three pages
    engine = build_engine(repository, clock, provider, options(burst_length=10))

    first = engine.tick(PROVIDER)

    cursors = [None, *({"next": PAGE_SIZE * page} for page in range(1, 6))]
    assert (first.action, first.pages) == (TickAction.BURST, 3)
    assert provider.cursors == cursors[:4]  # the fourth page was read ahead, then dropped
    complete_pass(engine, clock)
    assert provider.cursors == [*cursors[:4], *cursors[3:]]
    ingestion = repository.list_ingestions(PROVIDER)[0]
    assert [sequence for sequence, _ in read_marks(db, ingestion.id)] == [1, 2, 3, 4, 5, 6]
    assert unstamped_catalog(db) == expected_catalog(source)


def test_take_refuses_a_page_read_ahead_for_another_cursor() -> None:
    with ReadAhead(lambda cursor: cursor) as reader:
        reader.prefetch({"next": 1})
        with pytest.raises(RuntimeError, match="another cursor"):
            reader.take({"next": 2})


def test_a_page_is_fetched_at_once_when_none_was_read_ahead() -> None:
    calls: list[JSONValue] = []

    def fetch(cursor: JSONValue) -> JSONValue:
        calls.append(cursor)
        return cursor

    with ReadAhead(fetch) as reader:
        assert reader.take({"next": 1}) == {"next": 1}
        reader.prefetch({"next": 2})
        assert reader.take({"next": 2}) == {"next": 2}
    assert calls == [{"next": 1}, {"next": 2}]


def test_leaving_waits_for_a_running_fetch_and_drops_its_error() -> None:
    started, finished = threading.Event(), threading.Event()

    def fetch(cursor: JSONValue) -> JSONValue:
        started.set()
        time.sleep(0.2)
        finished.set()
        raise ConnectionError("upstream went away")

    with ReadAhead(fetch) as reader:
        reader.prefetch(None)
        assert started.wait(5)
    assert finished.is_set()


def test_an_error_of_a_page_read_ahead_surfaces_when_the_page_is_taken() -> None:
    def fetch(cursor: JSONValue) -> JSONValue:
        raise ConnectionError(f"no page after {cursor}")

    with ReadAhead(fetch) as reader:
        reader.prefetch("c1")
        with pytest.raises(ConnectionError, match="no page after c1"):
            reader.take("c1")
