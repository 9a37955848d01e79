"""Benchmark: the aggregator's merge against a plain bulk COPY, on a scratch PostgreSQL database.

    .venv/bin/python bench/aggregate.py [--entities N] [--page-size 500] [--body-bytes 1500]
                                        [--rounds R] [--database-url URL] [--results FILE]

Three sources (priorities 3, 2, 1) of N entities each; half of each source's refs are shared by
all three (so those refs really merge: every source stamps its own annotations, labels, tags
and description), the other half are its own (the fast path). Phases, each after an untimed
``CHECKPOINT``, with the entities prepared (validated, stamped, hashed) beforehand, untimed:

1. full merge: the three sources' pages committed through the SQL repository, as a pass's pages
   are (source records, merge of the touched refs, change feed, one transaction per page);
2. COPY baseline: the same 3N rows in one ``COPY ... FROM STDIN`` into a table shaped like
   ``source_entities``;
3. 1% refresh: the second source provides its N entities again, 1% of them changed.

Each round runs in a scratch database of its own. Figures on stdout and, as JSON, in
``bench/results/aggregate-<N>.json``; the last line ``merge/COPY: X`` (full-merge rate / COPY
rate, the median of the rounds). Targets (issue 13): at least 0.3, and the 1% refresh at most
5% of the full merge's time.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as Database
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.engine import (
    DEFAULT_DATABASE_URL,
    _copy_field,
    checkpoint,
    copy_into_baseline,
    disable_autovacuum,
    scratch_database,
)
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.contracts.storage import PageWrite, PreparedEntity
from catalog_ingest.engine.entity_preparation import prepare_entity
from catalog_ingest.providers.synthetic import SyntheticSource
from migrations.runner import upgrade
from models.database import create_database_engine
from models.sql_repository import SqlRepository

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SOURCES = (("alpha", 3), ("bravo", 2), ("charlie", 1))
REFRESHED = "bravo"


def source_entities(
    name: str, order: int, synthetic: SyntheticSource, count: int, revision: int = 0
) -> list[PreparedEntity]:
    """``count`` entities of source ``name``: the first half shared by every source, the
    second half its own; each carries the source's own fields."""
    shared = range(count // 2)
    own = range(count // 2 + order * count, count // 2 + order * count + (count - count // 2))
    prepared = []
    for index in [*shared, *own]:
        entity: dict[str, Any] = synthetic.entity(index)
        metadata = entity["metadata"]
        metadata["annotations"] = {**metadata.get("annotations", {}), f"{name}/seen": "yes"}
        metadata["labels"] = {**metadata.get("labels", {}), f"{name}-rev": str(revision)}
        metadata["tags"] = [*metadata.get("tags", []), name]
        metadata["description"] = f"{name}: {metadata.get('description', '')}"
        prepared.append(prepare_entity(entity, name))
    return prepared


def commit_pages(
    repository: SqlRepository,
    name: str,
    priority: int,
    entities: Sequence[PreparedEntity],
    size: int,
) -> None:
    """Commit ``entities`` as the pages of a new pass of source ``name``."""
    now = datetime.now(UTC)
    previous = repository.get_open(name)
    if previous is not None:
        repository.close(previous.id, repository.take_fence(previous.id), now, canceled=False)
    ingestion = repository.open_ingestion(name, now)
    fence = repository.take_fence(ingestion.id)
    for start in range(0, len(entities), size):
        page = PageWrite(entities[start : start + size], cursor=None, done=False, priority=priority)
        repository.commit_page(ingestion, fence, page, datetime.now(UTC))


def copy_rows(database: Database, batches: Sequence[tuple[str, Sequence[PreparedEntity]]]) -> float:
    """Seconds to COPY every batch's rows into a table shaped like ``source_entities``."""
    stamp = datetime.now(UTC).isoformat()
    with tempfile.TemporaryFile() as spool:
        for name, entities in batches:
            for e in entities:
                fields = (name, e.ref, e.kind, e.namespace, e.name, e.body_json, e.content_hash)
                line = "\t".join(map(_copy_field, fields)) + f"\t0\t\\N\tf\t{stamp}\t{stamp}\n"
                spool.write(line.encode())
        spool.seek(0)
        connection = database.raw_connection()
        try:
            return copy_into_baseline(connection.driver_connection, spool)
        finally:
            connection.close()


def counts(database: Database) -> tuple[int, int, int]:
    """Catalog entries, of which merged bodies, and the feed's last position."""
    with database.connect() as connection:
        catalog, merged = connection.execute(
            text("SELECT count(*), count(body) FROM catalog_entities")
        ).one()
        last = connection.execute(text("SELECT last_position FROM feed_state")).scalar_one()
    return int(catalog), int(merged), int(last)


def run(args: argparse.Namespace, url: str) -> dict[str, float]:
    """One round; returns its figures."""
    database = create_database_engine(url)
    upgrade(database)
    disable_autovacuum(database)
    repository = SqlRepository(database)
    n = args.entities
    synthetic = SyntheticSource(size=3 * n, body_bytes=args.body_bytes)
    batches = [
        (name, priority, source_entities(name, order, synthetic, n))
        for order, (name, priority) in enumerate(SOURCES)
    ]
    merge_seconds = timed(database, lambda: full_merge(repository, batches, args.page_size))
    catalog, merged, last = counts(database)
    rate = 3 * n / merge_seconds
    print(
        f"full merge: {3 * n} records, {catalog} refs ({merged} merged bodies), "
        f"{rate:,.0f} records/s ({merge_seconds:.2f} s), feed at {last}"
    )
    checkpoint(database)
    copy_seconds = copy_rows(database, [(name, entities) for name, _, entities in batches])
    print(f"copy: {3 * n / copy_seconds:,.0f} rows/s ({copy_seconds:.2f} s)")
    refreshed = refresh_of(batches[1][2], synthetic, n)
    refresh_seconds = timed(
        database, lambda: commit_pages(repository, REFRESHED, 2, refreshed, args.page_size)
    )
    _, _, after = counts(database)
    share = refresh_seconds / merge_seconds
    print(
        f"refresh 1% of {REFRESHED}: {refresh_seconds:.2f} s, {share:.1%} of the full merge, "
        f"{after - last} changes"
    )
    database.dispose()
    ratio = copy_seconds / merge_seconds
    print(f"round merge/COPY: {ratio:.2f}")
    return {
        "merge_seconds": round(merge_seconds, 3),
        "merge_records_per_second": round(rate),
        "copy_seconds": round(copy_seconds, 3),
        "copy_rows_per_second": round(3 * n / copy_seconds),
        "refresh_seconds": round(refresh_seconds, 3),
        "refresh_share_of_merge": round(share, 4),
        "merge_over_copy": round(ratio, 3),
    }


def timed(database: Database, work: Callable[[], None]) -> float:
    """Seconds ``work`` takes, after an untimed checkpoint."""
    checkpoint(database)
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def full_merge(
    repository: SqlRepository,
    batches: Sequence[tuple[str, int, Sequence[PreparedEntity]]],
    page_size: int,
) -> None:
    for name, priority, entities in batches:
        commit_pages(repository, name, priority, entities, page_size)


def refresh_of(
    entities: Sequence[PreparedEntity], synthetic: SyntheticSource, n: int
) -> list[PreparedEntity]:
    """The second source's entities again, every hundredth one in a new revision."""
    revised = source_entities(REFRESHED, 1, synthetic, n, revision=1)
    return [revised[i] if i % 100 == 0 else entity for i, entity in enumerate(entities)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=100_000, help="per source")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--body-bytes", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=1, help="whole measurements, median shown")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--results", type=Path, help="JSON output (default: bench/results/)")
    args = parser.parse_args(argv)
    if args.entities < 200 or args.rounds < 1 or args.page_size < 1:
        parser.error(
            "--entities must be at least 200 (a 1% refresh), --rounds and --page-size >= 1"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("WARNING")
    rounds = []
    for number in range(1, args.rounds + 1):
        print(f"round {number} of {args.rounds}", file=sys.stderr)
        with scratch_database(args.database_url) as url:
            rounds.append(run(args, url))
    ratio = statistics.median(figures["merge_over_copy"] for figures in rounds)
    share = statistics.median(figures["refresh_share_of_merge"] for figures in rounds)
    path: Path = args.results or RESULTS_DIR / f"aggregate-{args.entities}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "entities_per_source": args.entities,
        "page_size": args.page_size,
        "body_bytes": args.body_bytes,
        "rounds": rounds,
        "median_merge_over_copy": ratio,
        "median_refresh_share_of_merge": share,
        "measured_at": datetime.now(UTC).isoformat(),
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"results: {path}")
    print(f"refresh/merge (median): {share:.1%}")
    print(f"merge/COPY: {ratio:.2f}")


if __name__ == "__main__":
    main()
