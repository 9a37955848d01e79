"""Benchmark: one pass of the OpenChoreo provider in each API generation, requests and time.

    .venv/bin/python bench/openchoreo.py [--namespaces 10] [--projects 20] [--components 50]
                                         [--latency-ms 20] [--chunk-size 100] [--results FILE]

The simulator serves both generations of one dataset (``--namespaces`` x ``--projects`` x
``--components``, half of the components services) with ``--latency-ms`` of latency on every
request. One pass of the provider runs through the real engine (embedded: a scratch SQLite
file, an in-process lock, deferred items resolved in the burst under 10 request slots, no
rest between calls) in each generation: the namespace era (paged listings only) and the
organization era (listings, plus one detail call per service). For each it prints the requests
the simulator answered, the pass's wall time and the entities written per second; for the
namespace era also what the README's formula predicts. The figures go to
``bench/results/openchoreo-<N>.json``; the last line is ``requests per component: X`` for the
namespace era.
"""

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from catalog_ingest.app.composition import build_runtime
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.app.demo import PassSummary, engine_pass_runner
from catalog_ingest.coordination.local_lock import InProcessProviderLock
from catalog_ingest.engine import admin_operations
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import FastForwardClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo.entity_provider import OpenChoreoProvider
from catalog_ingest.providers.openchoreo.generation import Generation
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.simulator.app import create_app, simulator_of
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import Simulator, SimulatorConfig

PROVIDER = "demo"
"""The name :func:`engine_pass_runner` drives."""
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Figures:
    api: str
    requests: int
    requests_by_endpoint: dict[str, int]
    wall_seconds: float
    entities: int
    entities_per_second: float
    requests_per_component: float
    formula: int | None = None


def say(line: str) -> None:
    print(line, flush=True)


def _pages(items: int, limit: int) -> int:
    return max(1, math.ceil(items / limit))


def _count(client: httpx.Client, path: str) -> int:
    count, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        body = client.get(path, params=params).json()
        count += len(body["items"])
        cursor = body["pagination"].get("nextCursor")
        if not cursor:
            return count


def formula(url: str, limit: int) -> int:
    """The README's request count of a namespace-era pass (one burst, no lookups): the
    namespace listing, then per namespace its projects, its workloads twice (scan and join;
    once when they fit in one page) and its components."""
    with httpx.Client(base_url=f"{url}/api/v1", timeout=60) as client:
        namespaces = [
            item["metadata"]["name"]
            for item in client.get("/namespaces", params={"limit": 100}).json()["items"]
        ]
        total = _pages(len(namespaces), limit)
        for ns in namespaces:
            workloads = _pages(_count(client, f"/namespaces/{ns}/workloads"), limit)
            total += _pages(_count(client, f"/namespaces/{ns}/projects"), limit)
            total += workloads if workloads == 1 else 2 * workloads
            total += _pages(_count(client, f"/namespaces/{ns}/components"), limit)
    return total


def one_pass(url: str, simulator: Simulator, api: Generation, chunk_size: int) -> Figures:
    options = ProviderOptions(
        burst_length=300, chunk_size=chunk_size, max_concurrent_requests=10, batch_delay_ms=0
    )
    settings = OpenChoreoSettings(base_url=f"{url}/api/v1", api_generation=api)
    provider = OpenChoreoProvider(PROVIDER, settings, options)
    clock = FastForwardClock()
    with tempfile.TemporaryDirectory() as work:
        runtime = build_runtime(
            AppConfig(database_url=f"sqlite:///{work}/bench.db"),
            clock=clock,
            providers={PROVIDER: ProviderBinding(provider, options)},
            lock=InProcessProviderLock(),
        )
        try:
            admin_operations.reset(runtime.repository, PROVIDER, clock.now())
            simulator.stats.reset()
            summary = PassSummary(1)
            started = time.monotonic()
            engine_pass_runner(runtime.engine, clock)(summary)
            wall = time.monotonic() - started
        finally:
            runtime.close()
    by_endpoint = {k: v for k, v in simulator.stats.snapshot()["by_endpoint"].items() if v}
    requests = sum(by_endpoint.values())
    components = simulator.dataset.spec.total_components
    return Figures(
        api,
        requests,
        by_endpoint,
        round(wall, 2),
        summary.entities,
        round(summary.entities / wall, 1),
        round(requests / components, 4),
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--results", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spec = DatasetSpec(
        orgs=args.namespaces,
        projects=args.projects,
        components=args.components,
        seed=1,
        service_share=0.5,
    )
    faults = FaultSettings(latency_ms=args.latency_ms)
    app = create_app(Dataset(spec), SimulatorConfig(api="both", faults=faults))
    simulator = simulator_of(app)
    say(
        f"dataset: {spec.orgs} namespaces x {spec.projects} projects x {spec.components} "
        f"components ({spec.total_components} components), {args.latency_ms:g} ms per request, "
        f"chunk size {args.chunk_size}"
    )
    results: list[Figures] = []
    with serve_in_thread(app) as url:
        generations: tuple[Generation, ...] = ("namespaces", "orgs")
        for api in generations:
            figures = one_pass(url, simulator, api, args.chunk_size)
            if api == "namespaces":
                figures.formula = formula(url, min(args.chunk_size, 100))
            results.append(figures)
            predicted = f" (formula: {figures.formula})" if figures.formula is not None else ""
            say(
                f"{api}: {figures.requests} requests{predicted}, {figures.wall_seconds:.2f} s, "
                f"{figures.entities} entities, {figures.entities_per_second:.0f} entities/s, "
                f"{figures.requests_per_component} requests per component; "
                f"by endpoint {figures.requests_by_endpoint}"
            )
    path: Path = args.results or RESULTS_DIR / f"openchoreo-{spec.total_components}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "namespaces": spec.orgs,
                "projects_per_namespace": spec.projects,
                "components_per_project": spec.components,
                "latency_ms": args.latency_ms,
                "chunk_size": args.chunk_size,
                "passes": [asdict(figures) for figures in results],
            },
            indent=2,
        )
        + "\n"
    )
    say(f"results written to {path}")
    say(f"requests per component: {results[0].requests_per_component}")


if __name__ == "__main__":
    main()
