"""Every burst's history row ends, whatever escapes the burst; a killed worker's row is closed
as abandoned by the provider's next burst. Real PostgreSQL and SQLite (the ``db`` fixture)."""

import logging
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded

from catalog_ingest.contracts.storage import FencedError
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from models.tables import bursts
from tests.support.engine_harness import PROVIDER, ScriptedProvider, build_engine


class UpstreamError(Exception):
    """What a provider raises when its upstream fails."""


class Killed(BaseException):
    """A BaseException that is not an Exception (as KeyboardInterrupt or SystemExit)."""


class ScriptedRepository(SqlRepository):
    """A repository whose calls can be made to raise, once each: ``fail[name] = error``."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.fail: dict[str, BaseException] = {}

    def _maybe_fail(self, name: str) -> None:
        error = self.fail.pop(name, None)
        if error is not None:
            raise error

    def set_backoff(self, *args: Any, **kwargs: Any) -> None:
        self._maybe_fail("set_backoff")
        super().set_backoff(*args, **kwargs)

    def finish_burst(self, *args: Any, **kwargs: Any) -> None:
        self._maybe_fail("finish_burst")
        super().finish_burst(*args, **kwargs)


def burst_rows(db: sa.Engine) -> list[Any]:
    with db.connect() as connection:
        return list(connection.execute(sa.select(bursts).order_by(bursts.c.id)))


def open_rows(db: sa.Engine) -> list[Any]:
    return [row for row in burst_rows(db) if row.ended_at is None]


def setup(db: sa.Engine, clock: ManualClock) -> tuple[ScriptedRepository, ScriptedProvider, Any]:
    repository = ScriptedRepository(db)
    provider = ScriptedProvider(SyntheticSource(size=300, body_bytes=200))
    return repository, provider, build_engine(repository, clock, provider)


def test_celerys_soft_time_limit_is_an_exception_subclass() -> None:
    # What the engine's handlers see: an ``except Exception`` catches it (backoff), so it only
    # escapes a burst when it fires inside the burst's own error handling.
    assert issubclass(SoftTimeLimitExceeded, Exception)


def test_the_soft_time_limit_inside_the_error_handling_still_ends_the_burst_row(
    db: sa.Engine, clock: ManualClock
) -> None:
    repository, provider, engine = setup(db, clock)
    provider.fail_on_call(2, UpstreamError("upstream 503"))
    repository.fail["set_backoff"] = SoftTimeLimitExceeded()  # fires while backing off

    with pytest.raises(SoftTimeLimitExceeded):
        engine.tick(PROVIDER)

    [row] = burst_rows(db)
    assert row.ended_at is not None
    assert row.outcome == "time limit"
    assert row.pages == 1  # the page committed before the failure is counted


def test_a_fenced_out_burst_whose_time_limit_fires_in_its_handling_ends_its_row(
    db: sa.Engine, clock: ManualClock
) -> None:
    """The frozen worker woke up: another worker took the fence; the page commit is refused
    and, while the burst handles that, its soft time limit fires."""
    repository, provider, engine = setup(db, clock)
    taken: list[int] = []

    def another_worker_takes_over(call: int) -> None:
        if call == 2:
            ingestion = repository.get_open(PROVIDER)
            assert ingestion is not None
            taken.append(repository.take_fence(ingestion.id))

    provider.before_next = another_worker_takes_over
    original_get = repository.get

    def get_after_the_refusal(ingestion_id: str) -> Any:
        if taken:  # the refusal happened: the burst now reports it, and the limit fires
            raise SoftTimeLimitExceeded()
        return original_get(ingestion_id)

    repository.get = get_after_the_refusal  # type: ignore[method-assign]

    with pytest.raises(SoftTimeLimitExceeded):
        engine.tick(PROVIDER)

    assert taken
    assert open_rows(db) == []
    [row] = burst_rows(db)
    assert row.outcome == "time limit"


def test_a_fence_refusal_while_backing_off_ends_the_row_as_fenced(
    db: sa.Engine, clock: ManualClock
) -> None:
    repository, provider, engine = setup(db, clock)
    provider.fail_on_call(1, SoftTimeLimitExceeded())  # a hung page: handled as an error
    repository.fail["set_backoff"] = FencedError("fence 1 is stale: another holder took over")

    outcome = engine.tick(PROVIDER)

    assert outcome.action is TickAction.FENCED
    [row] = burst_rows(db)
    assert row.ended_at is not None
    assert row.outcome == "fenced"


def test_a_base_exception_escaping_the_burst_ends_its_row_as_an_error(
    db: sa.Engine, clock: ManualClock
) -> None:
    _, provider, engine = setup(db, clock)
    provider.fail_on_call(1, Killed())

    with pytest.raises(Killed):
        engine.tick(PROVIDER)

    [row] = burst_rows(db)
    assert row.ended_at is not None
    assert row.outcome == "error"


def test_a_failed_end_of_the_row_is_logged_and_does_not_mask_the_bursts_error(
    db: sa.Engine, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    repository, provider, engine = setup(db, clock)
    provider.fail_on_call(1, Killed())
    repository.fail["finish_burst"] = RuntimeError("database went away")

    with caplog.at_level(logging.ERROR), pytest.raises(Killed):
        engine.tick(PROVIDER)

    assert [record.getMessage() for record in caplog.records] == ["burst history not ended"]
    assert len(open_rows(db)) == 1  # the next burst closes it (below)


def test_the_next_burst_closes_a_row_a_killed_worker_left_open_as_abandoned(
    db: sa.Engine, clock: ManualClock
) -> None:
    repository, _, engine = setup(db, clock)
    ingestion = repository.open_ingestion(PROVIDER, clock.now())
    fence = repository.take_fence(ingestion.id)
    repository.start_burst(ingestion.id, fence, clock.now(), "killed")  # kill -9: never ended
    other = repository.open_ingestion("other", clock.now())
    repository.start_burst(other.id, repository.take_fence(other.id), clock.now(), "elsewhere")
    clock.advance(60)
    started: datetime = clock.now()

    outcome = engine.tick(PROVIDER)

    assert outcome.action is TickAction.PASS_COMPLETED
    rows = {row.worker: row for row in burst_rows(db)}
    assert rows["killed"].outcome == "abandoned"
    assert rows["killed"].ended_at == started  # at the latest when the next one started
    assert rows[engine.worker_id].outcome == "pass completed"
    assert [row.worker for row in open_rows(db)] == ["elsewhere"]  # another provider's: kept


def test_a_row_left_open_by_a_failed_end_is_closed_by_the_next_burst(
    db: sa.Engine, clock: ManualClock
) -> None:
    repository, provider, engine = setup(db, clock)
    provider.fail_on_call(1, Killed())
    repository.fail["finish_burst"] = RuntimeError("database went away")
    with pytest.raises(Killed):
        engine.tick(PROVIDER)

    engine.tick(PROVIDER)

    assert open_rows(db) == []
    assert [row.outcome for row in burst_rows(db)] == ["abandoned", "pass completed"]
