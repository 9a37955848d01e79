"""Benchmark: the most detail calls per second this machine gets from the simulator at all.

    .venv/bin/python bench/ceiling.py [--components 2000] [--latency-ms 50] [--concurrency 20]

The yardstick for ``bench/fanout.py``'s scenario (b): the same simulator (same dataset, same
latency, served from its own process) answers the same detail calls, made by a bare client
with ``--concurrency`` threads sharing one httpx client, without request slots, Celery,
PostgreSQL or translation. It prints the calls per second, the client's CPU per call and the
simulator's CPU per call, and writes them to ``bench/results/ceiling-<N>.json``. The last line
is ``ceiling: X calls/s``.
"""

import argparse
import json
import multiprocessing
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.fanout import RESULTS_DIR, dataset_spec
from catalog_ingest.simulator.app import create_app
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig


def _serve(spec: DatasetSpec, latency_ms: float, requests: Any, replies: Any) -> None:
    """The simulator's process: serve; answer ``cpu`` with its CPU seconds so far, until
    ``stop``."""
    config = SimulatorConfig(faults=FaultSettings(detail_latency_ms=latency_ms))
    with serve_in_thread(create_app(Dataset(spec), config)) as url:
        replies.put(url)
        while requests.get() == "cpu":
            replies.put(_cpu_seconds())


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _detail_paths(spec: DatasetSpec) -> Iterator[str]:
    for path in Dataset(spec).paths("component"):
        org, project, component = path.split("/")
        yield f"/orgs/{org}/projects/{project}/components/{component}"


def measure(url: str, paths: list[str], concurrency: int) -> tuple[float, float]:
    """Calls per second and client CPU seconds per call, for every path once."""
    pending = iter(paths)
    lock = threading.Lock()
    failures: list[str] = []
    client = httpx.Client(
        base_url=f"{url}/api/v1",
        limits=httpx.Limits(max_connections=concurrency),
    )

    def call_until_done() -> None:
        while True:
            with lock:
                path = next(pending, None)
            if path is None:
                return
            response = client.get(path, params={"include": "workload"})
            if response.status_code != 200:
                failures.append(f"{path}: HTTP {response.status_code}")
            response.json()

    threads = [threading.Thread(target=call_until_done) for _ in range(concurrency)]
    cpu, started = _cpu_seconds(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.monotonic() - started, _cpu_seconds() - cpu
    client.close()
    if failures:
        raise RuntimeError(f"{len(failures)} detail calls failed, e.g. {failures[0]}")
    return len(paths) / elapsed, cpu / len(paths)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--components", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args(argv)
    if args.components < 1 or args.concurrency < 1:
        parser.error("--components and --concurrency must be at least 1")
    spec = dataset_spec(args.components)
    paths = list(_detail_paths(spec))
    context = multiprocessing.get_context("spawn")
    requests, replies = context.Queue(), context.Queue()
    server = context.Process(target=_serve, args=(spec, args.latency_ms, requests, replies))
    server.start()
    try:
        url = replies.get(timeout=60)
        measure(url, paths[: args.concurrency * 5], args.concurrency)  # warm the connections
        requests.put("cpu")
        simulator_cpu = replies.get(timeout=30)
        calls_per_second, client_cpu = measure(url, paths, args.concurrency)
        requests.put("cpu")
        simulator_cpu = replies.get(timeout=30) - simulator_cpu
    finally:
        requests.put("stop")
        server.join(timeout=30)
    figures = {
        "components": spec.total_components,
        "detail_latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "calls_per_second": round(calls_per_second, 1),
        "client_cpu_ms_per_call": round(client_cpu * 1000, 2),
        "simulator_cpu_ms_per_call": round(simulator_cpu * 1000 / len(paths), 2),
        "measured_at": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
    }
    path: Path = args.results or RESULTS_DIR / f"ceiling-{spec.total_components}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"results written to {path}", file=sys.stderr)
    print(
        f"components: {spec.total_components}, detail latency {args.latency_ms:g} ms, "
        f"{args.concurrency} calls at a time"
    )
    print(
        f"client CPU {figures['client_cpu_ms_per_call']} ms/call, "
        f"simulator CPU {figures['simulator_cpu_ms_per_call']} ms/call"
    )
    print(f"ceiling: {figures['calls_per_second']} calls/s")


if __name__ == "__main__":
    main()
