"""Memory probe for the sweep, run in its own process by ``tests/test_sweep_memory.py``.

    python -m tests.support.memory_probe --database-url URL --entities N

Runs a first pass of N small synthetic entities through the real engine, removes every other
entity from the source, then runs a second pass whose sweep removes N/2 entities (no removal
guards). Prints one JSON line: the removed count and the memory figures around the second pass.

Autovacuum is disabled on the scratch database's tables, so the planner always works from
never-analyzed statistics. With autovacuum on, the sweep's plans depend on when an autoanalyze
happens to run: one that lands between the passes (statistics that have never seen the second
pass's ingestion) makes every removal batch a nested-loop anti-join with a join filter, tens of
seconds per batch at this size, and the probe's runtime would be a matter of luck.

Two measures of growth are printed:

- ``ru_maxrss`` (KB) right before and right after the second pass, as ``getrusage`` reports it.
  It is a lifetime peak: it cannot show growth that stays below an earlier peak, and on Linux it
  starts at the *parent's* peak when the child was spawned with ``vfork`` (subprocess does).
- ``peak_kb - rss_before_kb``: the kernel's high-water mark (``VmHWM``) is reset to the current
  RSS right before the second pass (``/proc/self/clear_refs``), so ``peak_kb`` read after it is
  the peak *during* that pass. This is the growth the test bounds.
"""

import argparse
import gc
import json
import resource
import time
from pathlib import Path

from sqlalchemy import Engine as Database
from sqlalchemy import text

from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.databases import migrated_engine

PROVIDER = "memory"
MAX_TICKS = 10_000
_WAITS = (TickAction.NOT_DUE, TickAction.REST_COMPLETED, TickAction.BURST)


def maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def proc_status_kb(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} is not in /proc/self/status")


def reset_peak() -> None:
    """Reset the kernel's high-water mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def disable_autovacuum(database: Database) -> None:
    with database.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in list(tables):
            connection.execute(text(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)'))


def run_pass(engine: Engine, clock: ManualClock) -> tuple[int, int]:
    """Tick until the pass completes, skipping waits; return (entities seen, removed)."""
    entities = removed = 0
    for _ in range(MAX_TICKS):
        outcome = engine.tick(PROVIDER)
        entities += outcome.entities
        removed += outcome.removed
        if outcome.action is TickAction.PASS_COMPLETED:
            return entities, removed
        if outcome.action not in _WAITS or outcome.next_action_at is None:
            raise RuntimeError(f"unexpected tick outcome {outcome.action}: {outcome.note}")
        clock.advance_to(outcome.next_action_at)
    raise RuntimeError(f"the pass did not complete within {MAX_TICKS} ticks")


def probe(database_url: str, entities: int, body_bytes: int) -> dict[str, int]:
    database = migrated_engine(database_url)
    try:
        disable_autovacuum(database)
        source = SyntheticSource(size=entities, body_bytes=body_bytes)
        options = ProviderOptions(
            burst_length=300,
            reject_removals_above_percentage=None,
            reject_empty_source_collections=False,
        )
        binding = ProviderBinding(SyntheticProvider(PROVIDER, source), options)
        clock = ManualClock()
        engine = Engine(SqlRepository(database), {PROVIDER: binding}, clock)
        started = time.perf_counter()
        first_seen, _ = run_pass(engine, clock)
        first_seconds = time.perf_counter() - started
        source.remove(range(0, entities, 2))
        gc.collect()
        maxrss_before, rss_before = maxrss_kb(), proc_status_kb("VmRSS")
        reset_peak()
        started = time.perf_counter()
        second_seen, removed = run_pass(engine, clock)
        second_seconds = time.perf_counter() - started
        peak = proc_status_kb("VmHWM")
        return {
            "entities": entities,
            "first_pass_seen": first_seen,
            "second_pass_seen": second_seen,
            "removed": removed,
            "maxrss_before_kb": maxrss_before,
            "maxrss_after_kb": maxrss_kb(),
            "rss_before_kb": rss_before,
            "peak_kb": peak,
            "growth_kb": peak - rss_before,
            "first_pass_ms": round(first_seconds * 1000),
            "second_pass_ms": round(second_seconds * 1000),
        }
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sweep memory probe (see module docstring).")
    parser.add_argument("--database-url", required=True, help="a scratch database to migrate")
    parser.add_argument("--entities", type=int, required=True)
    parser.add_argument("--body-bytes", type=int, default=400)
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    print(json.dumps(probe(args.database_url, args.entities, args.body_bytes)))


if __name__ == "__main__":
    main()
