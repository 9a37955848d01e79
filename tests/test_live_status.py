"""``ingest status --watch``: rate over the last minute, ETA, relative next action, last error;
and the status table's "removed" column. Real PostgreSQL and SQLite."""

import io
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine

from catalog_ingest.app.live_status import (
    duration_text,
    eta_seconds,
    pass_rate,
    relative_text,
    truncated,
)
from catalog_ingest.app.status_view import removed_figure, render_status, status_rows
from catalog_ingest.contracts.storage import Ingestion, PageWrite, PreparedEntity
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.entity_preparation import prepare_entity
from catalog_ingest.engine.redaction import Redactor
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.cli_runner import run_ingest
from tests.support.engine_harness import (
    ScriptedProvider,
    build_engine,
    complete_pass,
    options,
    tick_when_due,
)

SOURCE = SyntheticSource(size=400, body_bytes=500)
LONG_ERROR = "upstream answered 503 Service Unavailable: " + "retry later " * 20


def _entities(provider: str, start: int, count: int) -> list[PreparedEntity]:
    return [prepare_entity(SOURCE.entity(i), provider) for i in range(start, start + count)]


def _commit(
    repository: SqlRepository,
    ingestion: Ingestion,
    fence: int,
    span: tuple[int, int],
    at: datetime,
    *,
    done: bool = False,
) -> None:
    page = PageWrite(_entities(ingestion.provider_name, *span), cursor={"from": span[0]}, done=done)
    repository.commit_page(ingestion, fence, page, at)


def _open(repository: SqlRepository, provider: str, at: datetime) -> tuple[Ingestion, int]:
    ingestion = repository.open_ingestion(provider, at)
    return ingestion, repository.take_fence(ingestion.id)


def _completed_pass(repository: SqlRepository, provider: str, entities: int, at: datetime) -> None:
    ingestion, fence = _open(repository, provider, at)
    _commit(repository, ingestion, fence, (0, entities), at + timedelta(seconds=30), done=True)
    rested = at + timedelta(minutes=1)
    repository.set_resting(ingestion.id, fence, rested, rested + timedelta(minutes=30), None)
    repository.close(ingestion.id, fence, rested + timedelta(minutes=30), canceled=False)


def prepare_watched_database(repository: SqlRepository, now: datetime) -> None:
    """alpha: a previous pass of 300 entities; the current one listed 60 entities 2 minutes
    ago and 40 + 50 in the last minute (1.5/s, 150 to go: 100 s), next burst in 250 s.
    beta: no previous pass, 20 entities 5 minutes ago (0/s), backing off since 30 s ago."""
    _completed_pass(repository, "alpha", 300, now - timedelta(hours=2))
    alpha, fence = _open(repository, "alpha", now - timedelta(minutes=10))
    _commit(repository, alpha, fence, (0, 60), now - timedelta(seconds=120))
    _commit(repository, alpha, fence, (60, 40), now - timedelta(seconds=30))
    _commit(repository, alpha, fence, (100, 50), now - timedelta(seconds=20))
    paused_at = now - timedelta(seconds=20)
    repository.set_interstitial(alpha.id, fence, paused_at, now + timedelta(seconds=250))

    beta, fence = _open(repository, "beta", now - timedelta(minutes=10))
    _commit(repository, beta, fence, (0, 20), now - timedelta(minutes=5))
    failed_at = now - timedelta(minutes=5)
    repository.set_backoff(beta.id, fence, failed_at, now - timedelta(seconds=30), LONG_ERROR)


def database_url(db: Engine) -> str:
    return db.url.render_as_string(hide_password=False)


def table_rows(text: str) -> list[dict[str, str]]:
    """The body rows of a rendered rich table, as header -> cell (one line per row)."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("┃"))
    names = [cell.strip() for cell in header.strip().strip("┃").split("┃")]
    return [
        dict(zip(names, (cell.strip() for cell in line.strip().strip("│").split("│")), strict=True))
        for line in lines
        if line.startswith("│")
    ]


# ------------------------------------------------------------------ the repository's query


def test_entities_marked_since_counts_the_refs_of_pages_committed_since_not_events(
    repository: SqlRepository,
) -> None:
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    ingestion, fence = _open(repository, "alpha", start)
    _commit(repository, ingestion, fence, (0, 30), start + timedelta(seconds=10))
    _commit(repository, ingestion, fence, (30, 20), start + timedelta(seconds=40))
    _commit(repository, ingestion, fence, (50, 7), start + timedelta(seconds=50))
    event = _entities("alpha", 200, 5)  # marked by an event, not by a page
    repository.apply_delta(ingestion, fence, event, [], 0, start + timedelta(seconds=55))

    since = repository.entities_marked_since
    assert since(ingestion.id, start + timedelta(seconds=40)) == 27
    assert since(ingestion.id, start + timedelta(seconds=41)) == 7
    assert since(ingestion.id, start) == 57
    assert since(ingestion.id, start + timedelta(seconds=51)) == 0
    other, _ = _open(repository, "beta", start)
    assert since(other.id, start) == 0


def test_the_rate_of_a_pass_younger_than_a_minute_is_over_its_age(
    repository: SqlRepository,
) -> None:
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    ingestion, fence = _open(repository, "alpha", start)
    _commit(repository, ingestion, fence, (0, 30), start + timedelta(seconds=5))
    _commit(repository, ingestion, fence, (30, 12), start + timedelta(seconds=15))

    assert pass_rate(repository, ingestion.id, start, start + timedelta(seconds=20)) == 2.1
    later = start + timedelta(seconds=70)  # the first page is now older than the minute
    assert pass_rate(repository, ingestion.id, start, later) == pytest.approx(12 / 60)


# ------------------------------------------------------------------ figures and their text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(250, "in 4m 10s"), (0.4, "due"), (-0.6, "due"), (-3, "3s ago"), (7_500, "in 2h 5m")],
)
def test_the_next_action_is_shown_relative_to_now(seconds: float, text: str) -> None:
    assert relative_text("ingest", seconds) == text


def test_a_paused_provider_waits_for_a_trigger_whatever_its_time() -> None:
    assert relative_text("pause", -500) == "on trigger"


def test_durations_show_their_two_largest_units() -> None:
    assert [duration_text(s) for s in (0, 45, 100, 3_600, 90_061)] == [
        "0s",
        "45s",
        "1m 40s",
        "1h 0m",
        "1d 1h",
    ]


def test_a_long_error_is_cut_to_one_short_line() -> None:
    assert truncated("a\nb  c") == "a b c"
    cut = truncated(LONG_ERROR)
    assert len(cut) == 60
    assert cut.endswith("…")
    assert cut.startswith("upstream answered 503")


@pytest.mark.parametrize(
    ("current", "last", "rate", "expected"),
    [
        (
            {"phase": "listing", "next_action": "ingest", "entities": 150},
            {"entities": 300},
            1.5,
            100,
        ),
        ({"phase": "listing", "next_action": "backoff", "entities": 0}, {"entities": 30}, 3, 10),
        ({"phase": "listing", "next_action": "ingest", "entities": 150}, {}, 1.5, None),
        (
            {"phase": "listing", "next_action": "ingest", "entities": 150},
            {"entities": 300},
            0,
            None,
        ),
        (
            {"phase": "listing", "next_action": "ingest", "entities": 310},
            {"entities": 300},
            2,
            None,
        ),
        ({"phase": "done", "next_action": "rest", "entities": 150}, {"entities": 300}, 1.5, None),
        ({"phase": "sweeping", "next_action": "ingest", "entities": 1}, {"entities": 9}, 1, None),
    ],
)
def test_the_eta_is_the_previous_pass_size_left_at_the_current_rate(
    current: dict[str, Any], last: dict[str, Any], rate: float, expected: float | None
) -> None:
    assert eta_seconds(current, last, rate) == expected


# ------------------------------------------------------------------ the command


def test_watch_json_prints_one_document_per_refresh_with_rate_eta_and_relative_next_action(
    db: Engine, repository: SqlRepository
) -> None:
    prepare_watched_database(repository, datetime.now(UTC))

    result = run_ingest(
        "status",
        "--watch",
        "--json",
        "--interval",
        "0.2",
        "--iterations",
        "2",
        "--database-url",
        database_url(db),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == 2
    assert documents[0]["at"] < documents[1]["at"]
    for document in documents:
        rows = {row["provider"]: row for row in document["providers"]}
        alpha, beta = rows["alpha"]["current"], rows["beta"]["current"]
        assert alpha["rate_per_second"] == 1.5
        assert alpha["eta_seconds"] == 100
        assert alpha["entities"] == 150
        assert 200 < alpha["next_action_in_seconds"] <= 250
        assert rows["alpha"]["last_completed"]["entities"] == 300
        assert beta["rate_per_second"] == 0
        assert beta["eta_seconds"] is None
        assert -60 < beta["next_action_in_seconds"] <= -30
        assert beta["last_error"] == LONG_ERROR


def test_watch_on_a_pipe_prints_the_compact_table_once_per_refresh(
    db: Engine, repository: SqlRepository
) -> None:
    prepare_watched_database(repository, datetime.now(UTC))

    result = run_ingest(
        "status",
        "--watch",
        "--interval",
        "0.2",
        "--iterations",
        "2",
        "--database-url",
        database_url(db),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert [row["provider"] for row in rows] == ["alpha", "beta"] * 2
    alpha, beta = rows[0], rows[1]
    assert alpha["phase"] == "listing"
    assert (alpha["pages"], alpha["entities"]) == ("3", "150")
    assert (alpha["rate"], alpha["ETA"]) == ("1.5/s", "1m 40s")
    assert re.fullmatch(r"ingest in 4m \d+s", alpha["next action"]), alpha
    assert alpha["last error"] == "-"
    assert (beta["rate"], beta["ETA"]) == ("0.0/s", "-")
    assert re.fullmatch(r"backoff (3\d|[45]\d)s ago", beta["next action"]), beta
    assert beta["last error"] == truncated(LONG_ERROR)


@pytest.fixture
def watcher(db: Engine, repository: SqlRepository) -> Iterator[subprocess.Popen[str]]:
    prepare_watched_database(repository, datetime.now(UTC))
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "cli", "status", "--watch", "--json", "--interval", "0.2"),
            *("--provider", "alpha", "--database-url", database_url(db)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_ctrl_c_ends_a_watch_quietly_with_exit_0(watcher: subprocess.Popen[str]) -> None:
    assert watcher.stdout is not None
    refreshes = [json.loads(watcher.stdout.readline()) for _ in range(2)]
    assert [[row["provider"] for row in r["providers"]] for r in refreshes] == [["alpha"]] * 2

    watcher.send_signal(signal.SIGINT)
    stdout, stderr = watcher.communicate(timeout=30)

    assert watcher.returncode == 0, stderr
    assert stderr == ""
    assert all(json.loads(line)["providers"] for line in stdout.splitlines())


def test_status_of_a_provider_neither_configured_nor_stored_exits_2_in_one_line(
    db: Engine, repository: SqlRepository
) -> None:
    prepare_watched_database(repository, datetime.now(UTC))

    for watch in ([], ["--watch", "--iterations", "1"]):
        refused = run_ingest(
            "status", "--provider", "nope", *watch, "--database-url", database_url(db)
        )
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines() == [
            "error: unknown provider 'nope'; known providers: (none configured)"
        ]
        assert refused.stdout == ""

    stored = run_ingest(
        "status", "--provider", "alpha", "--json", "--database-url", database_url(db)
    )
    assert stored.returncode == 0, stored.stderr  # a removed provider's records still show
    assert [row["provider"] for row in json.loads(stored.stdout)] == ["alpha"]


# ------------------------------------------------------------------ the "removed" column


def shown_removed(repository: SqlRepository) -> str:
    console = Console(record=True, width=400, file=io.StringIO())
    render_status(status_rows(repository, Redactor()), console)
    [row] = table_rows(console.export_text())
    return row["removed"]


def test_removed_is_the_current_pass_figure_once_it_swept_else_the_last_completed_one(
    repository: SqlRepository, clock: ManualClock
) -> None:
    source = SyntheticSource(size=40, body_bytes=500)
    provider = ScriptedProvider(source, page_size=10, clock=clock, seconds_per_page=2)
    engine = build_engine(repository, clock, provider, options(burst_length=1))  # a page a burst
    complete_pass(engine, clock)  # pass 1 removes nothing
    source.removed.update({1, 2, 3})
    complete_pass(engine, clock)  # closes pass 1, runs pass 2, which sweeps 3 away

    [current] = [i for i in repository.list_ingestions() if i.completion_ticket == "open"]
    assert (current.phase, current.removed) == ("done", 3)
    assert shown_removed(repository) == "3"  # not pass 1's 0

    tick_when_due(engine, clock)  # the rest ends: pass 2 completes, pass 3 opens
    tick_when_due(engine, clock)  # pass 3 lists its first page
    [current] = [i for i in repository.list_ingestions() if i.completion_ticket == "open"]
    assert (current.phase, current.removed) == ("listing", 0)
    assert shown_removed(repository) == "3"  # pass 2's, until pass 3 sweeps


def test_a_pass_sweeping_shows_what_it_removed_so_far_and_a_listing_one_the_last_pass() -> None:
    row: dict[str, Any] = {
        "provider": "p",
        "current": {"phase": "sweeping", "removed": 7},
        "last_completed": {"removed": 2},
    }
    assert removed_figure(row) == 7
    row["current"]["phase"] = "listing"
    assert removed_figure(row) == 2
    assert removed_figure({"provider": "p", "current": {"phase": "listing", "removed": 0}}) == 0
    assert removed_figure({"provider": "p", "orphaned_records": 4}) == "-"
