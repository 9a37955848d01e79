"""The Prometheus metric families of one database snapshot (``GET /metrics``).

Everything is a gauge computed from the database at scrape time, so every replica of the
service reports the same figures and nothing lives in process memory between scrapes.
Timestamps are unix seconds. Backstage's incremental module has two gauges,
``catalog_incremental.ingestions.started`` and ``.completed`` (epoch seconds, per provider);
their equivalents here come from the burst history:
``catalog_ingest_burst_last_start_timestamp_seconds`` and
``catalog_ingest_burst_last_end_timestamp_seconds`` (with the burst's outcome).
"""

from collections.abc import Callable, Collection, Iterable, Iterator
from typing import TypeVar

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from catalog_ingest.contracts.states import Phase, Status
from catalog_ingest.engine.stale_sweep import is_refusal
from models.metrics_reads import BurstTimes, CompletedPass, CurrentPass, MetricsSnapshot

PREFIX = "catalog_ingest_"
OPEN_STATUSES = [status.value for status in Status if status is not Status.COMPLETE]
"""An open pass is never ``complete``: that status belongs to closed records."""
PHASES = [phase.value for phase in Phase]


Row = TypeVar("Row", CurrentPass, CompletedPass)
Figures = list[tuple[str, str, Callable[[Row], float]]]
"""Per-provider gauges read from one kind of row: name, help, how to read the value."""


def gauge(name: str, help_text: str, labels: Iterable[str] = ("provider",)) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, help_text, labels=list(labels))


CURRENT: Figures[CurrentPass] = [
    ("pass_pages", "Pages committed by the current pass.", lambda row: row.pages),
    ("pass_entities", "Entities marked by the current pass.", lambda row: row.entities),
    (
        "pass_pending_pages",
        "Pages of the current pass still waiting for their detail calls.",
        lambda row: row.pending_pages,
    ),
    (
        "pass_fallbacks",
        "Detail calls of the current pass that kept failing (degraded entities).",
        lambda row: row.fallbacks,
    ),
    (
        "backoff_attempts",
        "Consecutive failed bursts of the current pass (0 unless backing off).",
        lambda row: row.attempts,
    ),
]
COMPLETED: Figures[CompletedPass] = [
    (
        "last_pass_duration_seconds",
        "Duration of the last completed pass, from its opening to the end of its sweep.",
        lambda row: (row.completed_at - row.created_at).total_seconds(),
    ),
    (
        "last_pass_end_timestamp_seconds",
        "When the last completed pass ended its sweep (unix seconds).",
        lambda row: row.completed_at.timestamp(),
    ),
    (
        "last_pass_entities",
        "Entities marked by the last completed pass.",
        lambda row: row.entities,
    ),
    (
        "last_pass_removed_entities",
        "Entities removed by the sweep of the last completed pass.",
        lambda row: row.removed,
    ),
    (
        "last_pass_sweep_refused",
        "1 when a guard refused the sweep of the last completed pass (its removals are "
        "carried forward to the next pass allowed to sweep), else 0.",
        lambda row: 1.0 if is_refusal(row.note) else 0.0,
    ),
]


def status_families(providers: Collection[str], current: Iterable[CurrentPass]) -> Iterator[Metric]:
    """State sets: one sample per provider and possible value, 1 for the current one."""
    status = gauge(
        "provider_status",
        "Status of the provider's current pass (1 for the current status, 0 for the others; "
        "all 0 without an open pass).",
        ("provider", "status"),
    )
    phase = gauge(
        "pass_phase",
        "Phase of the provider's current pass (1 for the current phase, 0 for the others).",
        ("provider", "phase"),
    )
    by_provider = {row.provider: row for row in current}
    for provider in sorted(set(providers) | set(by_provider)):
        row = by_provider.get(provider)
        for value in OPEN_STATUSES:
            status.add_metric([provider, value], float(row is not None and row.status == value))
        for value in PHASES:
            phase.add_metric([provider, value], float(row is not None and row.phase == value))
    yield status
    yield phase


def row_families(figures: Figures[Row], rows: list[Row]) -> Iterator[Metric]:
    for name, help_text, read in figures:
        family = gauge(name, help_text)
        for row in rows:
            family.add_metric([row.provider], float(read(row)))
        yield family


def burst_families(rows: Iterable[BurstTimes]) -> Iterator[Metric]:
    started = gauge(
        "burst_last_start_timestamp_seconds",
        "When the provider's newest burst started (unix seconds); Backstage's "
        "catalog_incremental.ingestions.started.",
    )
    ended = gauge(
        "burst_last_end_timestamp_seconds",
        "When the provider's newest finished burst ended (unix seconds), labelled with its "
        "outcome (burst, pass completed, backed off, fenced, stopped); Backstage's "
        "catalog_incremental.ingestions.completed.",
        ("provider", "outcome"),
    )
    for row in rows:
        if row.last_started_at is not None:
            started.add_metric([row.provider], row.last_started_at.timestamp())
        if row.last_ended_at is not None:
            ended.add_metric([row.provider, row.last_outcome or ""], row.last_ended_at.timestamp())
    yield started
    yield ended


class SnapshotCollector(Collector):
    """A collector over one snapshot (read before the collector is registered)."""

    def __init__(self, snapshot: MetricsSnapshot, providers: Collection[str]) -> None:
        self.snapshot = snapshot
        self.providers = providers

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        yield from status_families(self.providers, snapshot.current)
        yield from row_families(CURRENT, snapshot.current)
        yield from row_families(COMPLETED, snapshot.completed)
        yield from burst_families(snapshot.bursts)
