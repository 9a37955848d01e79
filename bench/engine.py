"""Benchmark: the real engine against a plain bulk COPY, on a scratch PostgreSQL database.

    .venv/bin/python bench/engine.py [--entities N] [--page-size 500] [--body-bytes 1500]
                                     [--database-url URL] [--results FILE]

Phases, each preceded by an (untimed) ``CHECKPOINT`` so that one phase's dirty pages are not
flushed on the next one's clock:

1. pass 1: a full pass of N synthetic entities through :class:`Engine` (SQL repository,
   ``burst_length=300``); the waits between bursts are skipped with a fast-forward clock.
2. COPY baseline: the same rows (same source, same stamping and hashing) bulk-loaded with one
   ``COPY ... FROM STDIN`` (text format) into a table shaped like ``source_entities``. The rows
   are first spooled to a temporary file, so ``copy:`` times the COPY alone (client send, server
   parse, index build, commit) with bounded memory; the generation time is reported beside it.
3. pass 2: 1% of the entities removed upstream, the rest ended, a full pass whose sweep removes
   exactly that 1%.

The scratch database's tables have autovacuum disabled, so the planner works from the same
(never-analyzed) statistics in every run. With autovacuum on, whether an autoanalyze lands
before, during or after a pass decides between very different plans for the sweep and the page
statements (an analyze between the passes can make the sweep slower by orders of magnitude), and
figures from two runs stop being comparable.

Progress goes to stderr; the figures to stdout (last line ``ratio: X`` = pass-1 rate / COPY
rate) and, as JSON, to ``bench/results/engine-<N>.json``.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine as Database
from sqlalchemy import text
from sqlalchemy.engine import make_url

from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.contracts.provider import BurstInfo, JSONValue, Page
from catalog_ingest.contracts.storage import Ingestion, RemovalPlan
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import FastForwardClock
from catalog_ingest.engine.entity_preparation import prepare_entity
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from migrations.runner import upgrade
from models.database import create_database_engine
from models.sql_repository import SqlRepository

PROVIDER = "bench"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROGRESS_EVERY = 3.0
"""Seconds between progress lines on stderr."""
MAX_TICKS = 100_000
REMOVED_SHARE = 100
"""Pass 2 removes every REMOVED_SHARE-th entity: 1%."""
COPY_COLUMNS = (
    "source, ref, kind, namespace, name, body, content_hash, priority, expires_at, merge_replace, "
    "created_at, updated_at"
)


def peak_rss_kb() -> int:
    """Peak resident set size of this process so far (KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, drop it afterwards."""
    admin = create_database_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"ingest_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class Progress:
    """Running page and entity counts of the current phase, printed to stderr now and then."""

    def __init__(self) -> None:
        self.start("")

    def start(self, phase: str) -> None:
        self.phase, self.pages, self.entities = phase, 0, 0
        self.started = self.last = time.monotonic()

    def add(self, pages: int, entities: int) -> None:
        self.pages += pages
        self.entities += entities
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            rate = self.entities / (now - self.started)
            print(
                f"  {self.phase}: {self.pages} pages, {self.entities} entities "
                f"({rate:,.0f}/s so far)",
                file=sys.stderr,
                flush=True,
            )


class CountingProvider:
    """A provider that reports each page it hands to the engine."""

    def __init__(self, inner: SyntheticProvider, progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    @property
    def name(self) -> str:
        return self.inner.name

    def around(self, burst: BurstInfo) -> AbstractContextManager[SyntheticSource]:
        return self.inner.around(burst)

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        page = self.inner.next(context, cursor)
        self.progress.add(1, len(page.entities))
        return page


class TimedRepository(SqlRepository):
    """The SQL repository, timing the sweep's calls (its plan and its removal batches)."""

    sweep_seconds = 0.0

    def plan_removals(self, ingestion: Ingestion) -> RemovalPlan:
        started = time.perf_counter()
        try:
            return super().plan_removals(ingestion)
        finally:
            self.sweep_seconds += time.perf_counter() - started

    def remove_unmarked(
        self, ingestion: Ingestion, fence: int, after_ref: str | None, limit: int, now: datetime
    ) -> tuple[int, str | None]:
        started = time.perf_counter()
        try:
            return super().remove_unmarked(ingestion, fence, after_ref, limit, now)
        finally:
            self.sweep_seconds += time.perf_counter() - started


@dataclass
class PassFigures:
    entities: int = 0
    pages: int = 0
    removed: int = 0
    bursts: int = 0
    seconds: float = 0.0
    sweep_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.entities / self.seconds


_BURSTS = (TickAction.BURST, TickAction.PASS_COMPLETED)
_WAITS = (TickAction.NOT_DUE, TickAction.REST_COMPLETED)


def run_pass(engine: Engine, clock: FastForwardClock) -> PassFigures:
    """Tick until the pass completes, skipping every wait (interstitial, rest)."""
    figures = PassFigures()
    started = time.perf_counter()
    for _ in range(MAX_TICKS):
        outcome = engine.tick(PROVIDER)
        if outcome.action in _BURSTS:
            figures.bursts += 1
        elif outcome.action not in _WAITS:
            raise RuntimeError(f"unexpected tick outcome {outcome.action}: {outcome.note}")
        figures.entities += outcome.entities
        figures.pages += outcome.pages
        figures.removed += outcome.removed
        if outcome.action is TickAction.PASS_COMPLETED:
            figures.seconds = time.perf_counter() - started
            return figures
        if outcome.next_action_at is not None:
            clock.skip_to(outcome.next_action_at)
    raise RuntimeError(f"the pass did not complete within {MAX_TICKS} ticks")


def _copy_field(value: str) -> str:
    """Escape one value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def spool_rows(source: SyntheticSource, spool: IO[bytes], now: datetime) -> int:
    """Write the source's rows, prepared exactly as the engine prepares them, as COPY text."""
    stamp = now.isoformat()
    rows = 0
    for index in source.live_indexes():
        e = prepare_entity(source.entity(index), PROVIDER)
        fields = (PROVIDER, e.ref, e.kind, e.namespace, e.name, e.body_json, e.content_hash)
        line = "\t".join(map(_copy_field, fields)) + f"\t0\t\\N\tf\t{stamp}\t{stamp}\n"
        spool.write(line.encode())
        rows += 1
    return rows


@dataclass
class CopyFigures:
    rows: int
    generation_seconds: float
    copy_seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.copy_seconds

    @property
    def rate_with_generation(self) -> float:
        return self.rows / (self.copy_seconds + self.generation_seconds)


def copy_into_baseline(driver: Any, spool: IO[bytes]) -> float:
    """Seconds to COPY the spooled rows into a new table ``copy_baseline`` shaped like
    ``source_entities`` (indexes included), committed; ``driver`` is a psycopg connection."""
    driver.execute("CREATE TABLE copy_baseline (LIKE source_entities INCLUDING ALL)")
    driver.commit()
    started = time.perf_counter()
    with driver.cursor() as cursor:
        statement = f"COPY copy_baseline ({COPY_COLUMNS}) FROM STDIN"
        with cursor.copy(statement) as copy:
            while block := spool.read(1 << 20):
                copy.write(block)
    driver.commit()
    return time.perf_counter() - started


def copy_baseline(database: Database, source: SyntheticSource, now: datetime) -> CopyFigures:
    """COPY the source's rows into a table shaped like ``source_entities`` (indexes included)."""
    with tempfile.TemporaryFile() as spool:
        started = time.perf_counter()
        rows = spool_rows(source, spool, now)
        generated = time.perf_counter() - started
        spool.seek(0)
        connection = database.raw_connection()
        try:
            driver: Any = connection.driver_connection
            copied = copy_into_baseline(driver, spool)
            _check_copy(driver, rows)
            driver.execute("DROP TABLE copy_baseline")
            driver.commit()
        finally:
            connection.close()
    return CopyFigures(rows=rows, generation_seconds=generated, copy_seconds=copied)


def _check_copy(driver: Any, rows: int) -> None:
    count, objects = driver.execute(
        "SELECT count(*), count(*) FILTER (WHERE jsonb_typeof(body) = 'object') FROM copy_baseline"
    ).fetchone()
    if not count == objects == rows:
        raise AssertionError(f"COPY stored {count} rows, {objects} JSON objects; {rows} expected")


def disable_autovacuum(database: Database) -> None:
    """Freeze planner statistics (see the module docstring): no autoanalyze on any table."""
    with database.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in list(tables):
            connection.execute(text(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)'))


def checkpoint(database: Database) -> None:
    with database.connect() as connection:
        connection.execute(text("CHECKPOINT"))
        connection.commit()


def catalog_counts(database: Database) -> tuple[int, int]:
    with database.connect() as connection:
        sources = connection.execute(text("SELECT count(*) FROM source_entities")).scalar_one()
        merged = connection.execute(text("SELECT count(*) FROM catalog_entities")).scalar_one()
    return int(sources), int(merged)


@dataclass
class Results:
    entities: int
    page_size: int
    body_bytes: int
    pass1: PassFigures
    copy: CopyFigures
    pass2: PassFigures
    expected_removed: int
    rss_start_kb: int
    rss_after_pass1_kb: int
    rss_end_kb: int

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass1"]["entities_per_second"] = round(self.pass1.rate, 1)
        data["pass2"]["entities_per_second"] = round(self.pass2.rate, 1)
        data["copy"]["rows_per_second"] = round(self.copy.rate, 1)
        data["copy"]["rows_per_second_with_generation"] = round(self.copy.rate_with_generation, 1)
        data["rss_growth_kb"] = self.rss_end_kb - self.rss_start_kb
        data["ratio"] = round(self.pass1.rate / self.copy.rate, 2)
        return data


def run(args: argparse.Namespace, database_url: str, progress: Progress) -> Results:
    """All three phases against a migrated database at ``database_url``."""
    database = create_database_engine(database_url)
    try:
        upgrade(database)
        disable_autovacuum(database)
        repository = TimedRepository(database)
        clock = FastForwardClock()
        source = SyntheticSource(size=args.entities, body_bytes=args.body_bytes)
        provider = CountingProvider(SyntheticProvider(PROVIDER, source, args.page_size), progress)
        options = ProviderOptions(burst_length=300)
        engine = Engine(repository, {PROVIDER: ProviderBinding(provider, options)}, clock)
        rss_start = peak_rss_kb()

        checkpoint(database)
        progress.start("pass 1")
        pass1 = run_pass(engine, clock)
        pass1.sweep_seconds = repository.sweep_seconds
        rss_after_pass1 = peak_rss_kb()
        _expect_catalog(database, args.entities)

        checkpoint(database)
        print("  copy: spooling rows, then COPY", file=sys.stderr, flush=True)
        copied = copy_baseline(database, source, clock.now())

        removed = range(0, args.entities, REMOVED_SHARE)
        source.remove(removed)
        checkpoint(database)
        progress.start("pass 2")
        repository.sweep_seconds = 0.0
        pass2 = run_pass(engine, clock)
        pass2.sweep_seconds = repository.sweep_seconds
        if pass2.removed != len(removed):
            raise AssertionError(f"pass 2 removed {pass2.removed}, expected {len(removed)}")
        _expect_catalog(database, args.entities - len(removed))
        return Results(
            args.entities,
            args.page_size,
            args.body_bytes,
            pass1,
            copied,
            pass2,
            len(removed),
            rss_start,
            rss_after_pass1,
            peak_rss_kb(),
        )
    finally:
        database.dispose()


def _expect_catalog(database: Database, expected: int) -> None:
    counts = catalog_counts(database)
    if counts != (expected, expected):
        raise AssertionError(f"catalog holds {counts} (source, merged) rows; {expected} expected")


def report(results: Results) -> None:
    p1, p2, copied = results.pass1, results.pass2, results.copy
    growth = (results.rss_end_kb - results.rss_start_kb) / 1024
    print(f"entities: {results.entities}, page size {results.page_size}, ~{results.body_bytes} B")
    print(f"pass1: {p1.rate:.0f} entities/s ({p1.seconds:.2f} s)")
    print(
        f"copy: {copied.rate:.0f} rows/s (COPY only, {copied.copy_seconds:.2f} s; with row "
        f"generation {copied.rate_with_generation:.0f} rows/s, "
        f"generation {copied.generation_seconds:.2f} s)"
    )
    print(
        f"pass2 (1% removed): {p2.rate:.0f} entities/s ({p2.seconds:.2f} s), "
        f"removed {p2.removed} (sweep {p2.sweep_seconds:.2f} s)"
    )
    print(
        f"peak RSS: {results.rss_start_kb / 1024:.1f} MB before, "
        f"{results.rss_end_kb / 1024:.1f} MB after (growth {growth:.1f} MB)"
    )
    print(f"ratio: {p1.rate / copied.rate:.2f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--body-bytes", type=int, default=1500)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="server to create the scratch database on (default: $DATABASE_URL or local)",
    )
    parser.add_argument("--results", type=Path, help="JSON output (default: bench/results/)")
    args = parser.parse_args(argv)
    if args.entities < REMOVED_SHARE:
        parser.error(f"--entities must be at least {REMOVED_SHARE}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("WARNING")
    progress = Progress()
    started = time.perf_counter()
    with scratch_database(args.database_url) as url:
        results = run(args, url, progress)
    elapsed = time.perf_counter() - started
    path: Path = args.results or RESULTS_DIR / f"engine-{args.entities}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = results.as_dict() | {
        "measured_at": datetime.now(UTC).isoformat(),
        "seconds_in_all": round(elapsed, 1),
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"  {elapsed:.1f} s in all; results written to {path}", file=sys.stderr)
    report(results)


if __name__ == "__main__":
    main()
