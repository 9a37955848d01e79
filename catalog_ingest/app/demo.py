"""The demo: two passes of the OpenChoreo provider over a simulated installation.

The simulator serves a generated dataset on a loopback port inside this process, in one API
generation (today's namespace era by default, or the organization era); the provider walks it
over real HTTP. Between the passes the upstream changes (items added, changed and
removed), so the second pass writes only what changed and sweeps what disappeared.

The dataset, the mutations and the summary live here; *how* a pass is driven is injected: the
CLI drives it through the embedded Celery worker (``workers.demo_passes``), and
:func:`engine_pass_runner` drives the engine directly (tests of the core, no Celery).
"""

import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from catalog_ingest.app.composition import Runtime, build_runtime
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.coordination.local_lock import InProcessProviderLock
from catalog_ingest.engine import admin_operations
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import FastForwardClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.openchoreo.entity_provider import OpenChoreoProvider
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.simulator.app import create_app
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from models.catalog_reads import count_by_kind

DEMO_PROVIDER = "demo"
DemoApi = Literal["namespaces", "orgs"]
TOP_LEVEL: dict[DemoApi, str] = {"namespaces": "namespaces", "orgs": "organizations"}
MAX_TICKS_PER_PASS = 100_000
STEP_ACTIONS = {TickAction.BURST, TickAction.PASS_COMPLETED, TickAction.BACKED_OFF}


@dataclass
class PassSummary:
    pass_number: int
    bursts: int = 0
    pages: int = 0
    entities: int = 0
    written: int = 0
    rejected: int = 0
    duplicates: int = 0
    removed: int = 0
    seconds: float = 0.0
    note: str | None = None

    def add(self, outcome: Mapping[str, Any]) -> None:
        """Count one step's outcome (a ``TickOutcome`` as a dict)."""
        if outcome["action"] in STEP_ACTIONS:
            self.bursts += 1
        for key in ("pages", "entities", "written", "rejected", "duplicates", "removed"):
            setattr(self, key, getattr(self, key) + int(outcome.get(key) or 0))
        self.note = outcome.get("note") or self.note


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
PassRunner = Callable[[PassSummary], None]
"""Drives one pass to completion, adding every step's outcome to the summary."""


@dataclass
class DemoSetup:
    runtime: Runtime
    dataset: Dataset
    clock: FastForwardClock
    resources: ExitStack
    api: DemoApi = "namespaces"

    def close(self) -> None:
        """Stop the simulator and release the database."""
        with self.resources:
            self.runtime.close()


DEMO_OPTIONS = ProviderOptions(
    burst_length=1,
    burst_interval=5,
    rest_length=1,
    chunk_size=100,
    max_concurrent_requests=10,
    batch_delay_ms=0,
)
"""Short bursts (so a pass takes several), and no pacing: the upstream is local."""


def demo_setup(
    database_url: str,
    orgs: int,
    projects: int,
    components: int,
    seed: int = 1,
    api: DemoApi = "namespaces",
) -> DemoSetup:
    """A simulator serving ``api`` on a loopback port, the OpenChoreo provider on it, an
    in-process lock and a fast clock. ``orgs`` are namespaces in the namespace era."""
    dataset = Dataset(DatasetSpec(orgs=orgs, projects=projects, components=components, seed=seed))
    resources = ExitStack()
    app = create_app(dataset, SimulatorConfig(api=api))
    url = resources.enter_context(serve_in_thread(app))
    settings = OpenChoreoSettings(
        base_url=f"{url}/api/v1", default_owner="platform-team", api_generation=api
    )
    provider = OpenChoreoProvider(DEMO_PROVIDER, settings, DEMO_OPTIONS)
    clock = FastForwardClock()
    try:
        runtime = build_runtime(
            AppConfig(database_url=database_url),
            clock=clock,
            providers={DEMO_PROVIDER: ProviderBinding(provider, DEMO_OPTIONS)},
            lock=InProcessProviderLock(),
        )
    except BaseException:
        resources.close()
        raise
    return DemoSetup(runtime, dataset, clock, resources, api)


def engine_pass_runner(engine: Engine, clock: FastForwardClock) -> PassRunner:
    """Drive passes by calling the engine directly, skipping waits."""

    def run_pass(summary: PassSummary) -> None:
        for _ in range(MAX_TICKS_PER_PASS):
            outcome = engine.tick(DEMO_PROVIDER)
            summary.add(asdict(outcome))
            if outcome.action is TickAction.PASS_COMPLETED:
                return
            if outcome.next_action_at is not None:
                clock.skip_to(outcome.next_action_at)
        raise RuntimeError(f"pass did not complete within {MAX_TICKS_PER_PASS} ticks")

    return run_pass


def mutate(dataset: Dataset, seed: int) -> dict[str, int]:
    """Upstream changes between the passes, about 2% added, 3% changed and 1% removed, among
    projects and components (a removed project takes its components with it)."""
    size = dataset.spec.total_components
    report = dataset.mutate(
        add=max(1, size * 2 // 100),
        change=max(1, size * 3 // 100),
        remove=max(1, size // 100),
        seed=seed,
        levels=("project", "component"),
    )
    return {
        "added": len(report.added),
        "changed": len(report.changed),
        "removed": len(report.removed),
    }


def _timed_pass(number: int, run_pass: PassRunner) -> PassSummary:
    summary = PassSummary(number)
    started = time.monotonic()
    run_pass(summary)
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def run_demo(
    setup: DemoSetup, run_pass: PassRunner, progress: Progress = lambda _line: None, seed: int = 1
) -> DemoSummary:
    """Two passes with upstream changes in between; returns what happened."""
    started = time.monotonic()
    runtime, spec = setup.runtime, setup.dataset.spec
    url = runtime.config.database_url
    admin_operations.reset(runtime.repository, DEMO_PROVIDER, setup.clock.now())
    summary = DemoSummary(database_url=url, provider=DEMO_PROVIDER)
    progress(
        f"pass 1: ingesting a simulated OpenChoreo installation ({setup.api} API: {spec.orgs} "
        f"{TOP_LEVEL[setup.api]}, {spec.total_projects} projects, {spec.total_components} "
        f"components) into {url}"
    )
    summary.passes.append(_timed_pass(1, run_pass))
    summary.mutations = mutate(setup.dataset, seed)
    progress(f"upstream changed: {summary.mutations}; starting pass 2")
    admin_operations.start(runtime.repository, DEMO_PROVIDER, setup.clock.now())
    summary.passes.append(_timed_pass(2, run_pass))
    summary.entities_by_kind = count_by_kind(runtime.database)
    summary.removed = sum(p.removed for p in summary.passes)
    summary.duration_seconds = round(time.monotonic() - started, 3)
    return summary
