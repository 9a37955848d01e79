"""The embedded demo: two passes of a synthetic source, with upstream changes in between.

Runs the real engine and store in one process (SQLite by default); waits between bursts and the
rest are skipped with a fast-forward clock rather than slept through.
"""

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from catalog_ingest import admin
from catalog_ingest.binding import ProviderBinding
from catalog_ingest.clock import FastForwardClock
from catalog_ingest.config import AppConfig
from catalog_ingest.engine import Engine
from catalog_ingest.options import ProviderOptions
from catalog_ingest.outcome import TickAction, TickOutcome
from catalog_ingest.runtime import build_runtime
from catalog_ingest.synthetic import SyntheticProvider, SyntheticSource
from models.catalog_reads import count_by_kind

DEMO_PROVIDER = "demo"
MAX_TICKS_PER_PASS = 100_000


@dataclass
class PassSummary:
    pass_number: int
    bursts: int = 0
    pages: int = 0
    entities: int = 0
    written: int = 0
    rejected: int = 0
    removed: int = 0
    seconds: float = 0.0
    note: str | None = None


@dataclass
class DemoSummary:
    database_url: str
    provider: str
    passes: list[PassSummary] = field(default_factory=list)
    entities_by_kind: dict[str, int] = field(default_factory=dict)
    mutations: dict[str, int] = field(default_factory=dict)
    removed: int = 0
    duration_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total_entities"] = sum(self.entities_by_kind.values())
        return data


Progress = Callable[[str], None]


def _run_pass(
    engine: Engine, clock: FastForwardClock, number: int, progress: Progress
) -> PassSummary:
    summary = PassSummary(number)
    started = time.monotonic()
    for _ in range(MAX_TICKS_PER_PASS):
        outcome = engine.tick(DEMO_PROVIDER)
        _accumulate(summary, outcome)
        if outcome.action is TickAction.PASS_COMPLETED:
            break
        if outcome.action is TickAction.BACKED_OFF:
            progress(f"pass {number}: burst failed, backing off: {outcome.note}")
        if outcome.action is TickAction.BURST:
            progress(f"pass {number}: {summary.pages} pages, {summary.entities} entities so far")
        if outcome.next_action_at is not None:
            clock.skip_to(outcome.next_action_at)
    else:
        raise RuntimeError(f"pass {number} did not complete within {MAX_TICKS_PER_PASS} ticks")
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _accumulate(summary: PassSummary, outcome: TickOutcome) -> None:
    if outcome.action in (TickAction.BURST, TickAction.PASS_COMPLETED):
        summary.bursts += 1
    summary.pages += outcome.pages
    summary.entities += outcome.entities
    summary.written += outcome.written
    summary.rejected += outcome.rejected
    summary.removed += outcome.removed
    summary.note = outcome.note or summary.note


def _mutate(source: SyntheticSource, seed: int) -> dict[str, int]:
    """Upstream changes between the passes: 2% added, 3% changed, 1% removed."""
    rng = random.Random(seed)
    changed = source.sample(max(1, source.size * 3 // 100), rng)
    removed = source.sample(max(1, source.size // 100), rng)
    source.change(changed)
    source.remove(removed)
    added = source.add(max(1, source.size * 2 // 100))
    return {"added": len(added), "changed": len(changed), "removed": len(removed)}


def run_demo(
    database_url: str,
    entities: int = 20_000,
    page_size: int = 500,
    seed: int = 1,
    progress: Progress = lambda _line: None,
) -> DemoSummary:
    """Run two passes with upstream changes in between; return what happened."""
    started = time.monotonic()
    clock = FastForwardClock()
    source = SyntheticSource(size=entities, seed=seed)
    options = ProviderOptions(burst_length=1, burst_interval=5, rest_length=1)
    binding = ProviderBinding(SyntheticProvider(DEMO_PROVIDER, source, page_size), options)
    runtime = build_runtime(
        AppConfig(database_url=database_url), clock=clock, providers={DEMO_PROVIDER: binding}
    )
    try:
        admin.reset(runtime.repository, DEMO_PROVIDER, clock.now())
        summary = DemoSummary(database_url=database_url, provider=DEMO_PROVIDER)
        progress(f"pass 1: ingesting {entities} synthetic entities into {database_url}")
        summary.passes.append(_run_pass(runtime.engine, clock, 1, progress))
        summary.mutations = _mutate(source, seed)
        progress(f"upstream changed: {summary.mutations}; starting pass 2")
        admin.start(runtime.repository, DEMO_PROVIDER, clock.now())
        summary.passes.append(_run_pass(runtime.engine, clock, 2, progress))
        summary.entities_by_kind = count_by_kind(runtime.database)
        summary.removed = sum(p.removed for p in summary.passes)
        summary.duration_seconds = round(time.monotonic() - started, 3)
        return summary
    finally:
        runtime.close()
