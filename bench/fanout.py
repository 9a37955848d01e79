"""Benchmark: component-detail fan-out across worker processes under the global bound.

    .venv/bin/python bench/fanout.py [--components 2000] [--latency-ms 50] [--database-url URL]
                                     [--redis-url URL] [--threads 24] [--results FILE]

The simulator serves ``--components`` service components (every one needs a detail call) with
``--latency-ms`` of latency on the detail endpoint. One pass of the OpenChoreo provider runs on
real Celery worker processes (threads pool, ``--threads`` each) against a scratch PostgreSQL
database and a Redis database, in four scenarios:

- (a) the reference's pacing: 5 request slots, 100 ms rest after each call (5 calls per
  150 ms, about 33 calls/s), with one and with two worker processes;
- (b) 20 slots, no rest, with one and with two worker processes.

For each it prints the detail calls per second (from the first to the last detail call), the
wall time of the pass (first tick to resting) and the simulator's maximum of detail calls in
flight; the figures go to ``bench/results/fanout-<N>.json``. The last line is
``speedup: X``: (b) with two workers over (a) with one.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import yaml
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.engine import DEFAULT_DATABASE_URL, scratch_database
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.contracts.states import OPEN_TICKET
from catalog_ingest.simulator.app import create_app as create_simulator
from catalog_ingest.simulator.app import simulator_of
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import Simulator, SimulatorConfig
from migrations.runner import upgrade
from models.database import create_database_engine
from models.tables import ingestions
from workers import task_names
from workers.celery_app import create_app

PROVIDER = "bench"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
PASS_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Scenario:
    label: str
    slots: int
    rest_ms: int
    workers: int


SCENARIOS = (
    Scenario("a1", 5, 100, 1),
    Scenario("a2", 5, 100, 2),
    Scenario("b1", 20, 0, 1),
    Scenario("b2", 20, 0, 2),
)


@dataclass
class Figures:
    scenario: str
    slots: int
    rest_ms: int
    workers: int
    detail_calls: int
    calls_per_second: float
    detail_seconds: float
    wall_seconds: float
    max_in_flight: int


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def dataset_spec(components: int) -> DatasetSpec:
    projects = max(1, components // 100)
    return DatasetSpec(
        orgs=1, projects=projects, components=components // projects, seed=1, service_share=1.0
    )


def write_config(path: Path, database_url: str, redis_url: str, api: str, s: Scenario) -> None:
    provider = {
        "name": PROVIDER,
        "type": "openchoreo",
        "settings": {"base_url": f"{api}/api/v1", "api_generation": "orgs", "retries": 3},
        "options": {
            "burst_length": 30,
            "burst_interval": 5,
            "rest_length": 60,
            "chunk_size": 100,
            "max_concurrent_requests": s.slots,
            "batch_delay_ms": s.rest_ms,
            "max_pending_pages": 8,
        },
    }
    config = {"database_url": database_url, "redis_url": redis_url, "providers": [provider]}
    path.write_text(yaml.safe_dump(config))


@contextmanager
def workers(config_path: Path, count: int, threads: int, logs: Path, label: str) -> Iterator[None]:
    env = {**os.environ, "INGEST_CONFIG": str(config_path), "INGEST_LOG_LEVEL": "WARNING"}
    for key in ("DATABASE_URL", "REDIS_URL"):
        env.pop(key, None)
    processes = []
    for index in range(count):
        log = logs / f"{label}-worker-{index}.log"
        command = [
            sys.executable, "-m", "celery", "--app=workers", "worker",
            "--queues=ingest,details,admin", "--pool=threads", f"--concurrency={threads}",
            f"--hostname=bench{index}@%h", "--without-gossip", "--without-mingle",
            "--loglevel=INFO",
        ]  # fmt: skip
        with log.open("wb") as out:
            processes.append(
                (
                    subprocess.Popen(
                        command,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                    log,
                )
            )
    try:
        deadline = time.monotonic() + 60
        for process, log in processes:
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield
    finally:
        for process, _log in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _log in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run_scenario(
    scenario: Scenario,
    simulator: Simulator,
    args: argparse.Namespace,
    api: str,
    work: Path,
) -> Figures:
    dataset = simulator.dataset
    redis.Redis.from_url(args.redis_url).flushdb()
    simulator.stats.reset()
    with scratch_database(args.database_url) as database_url:
        database = create_database_engine(database_url)
        upgrade(database)
        config_path = work / f"{scenario.label}.yaml"
        write_config(config_path, database_url, args.redis_url, api, scenario)
        app = create_app(load_config(config_path))
        expected = sum(1 for _ in dataset.paths("component"))
        with workers(config_path, scenario.workers, args.threads, work, scenario.label):
            started = time.monotonic()
            first = last = None
            next_tick = 0.0
            while True:
                now = time.monotonic()
                if now >= next_tick:
                    app.send_task(task_names.TICK, args=(PROVIDER,))
                    next_tick = now + 1.0
                calls = simulator.stats.snapshot()["by_endpoint"].get("detail", 0)
                if calls and first is None:
                    first = now
                if calls >= expected and last is None:
                    last = now
                if last is not None and _resting(database):
                    break
                if now - started > PASS_TIMEOUT:
                    raise RuntimeError(f"{scenario.label}: the pass did not finish")
                time.sleep(0.02)
            wall = time.monotonic() - started
        app.close()
        database.dispose()
    stats = simulator.stats.snapshot()
    detail_seconds = (last or 0) - (first or 0)
    calls = stats["by_endpoint"].get("detail", 0)
    return Figures(
        scenario.label,
        scenario.slots,
        scenario.rest_ms,
        scenario.workers,
        calls,
        round(calls / detail_seconds, 1) if detail_seconds else 0.0,
        round(detail_seconds, 2),
        round(wall, 2),
        stats["max_in_flight_by_endpoint"].get("detail", 0),
    )


def _resting(database: Any) -> bool:
    with database.connect() as connection:
        status = connection.execute(
            select(ingestions.c.status).where(
                ingestions.c.provider_name == PROVIDER,
                ingestions.c.completion_ticket == OPEN_TICKET,
            )
        ).scalar()
    return bool(status == "resting")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--components", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=24, help="threads per worker process")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--results", type=Path)
    parser.add_argument("--logs", type=Path, help="keep the workers' logs in this directory")
    parser.add_argument(
        "--scenarios", default="a1,a2,b1,b2", help="comma-separated subset of a1,a2,b1,b2"
    )
    args = parser.parse_args(argv)
    if args.components < 1:
        parser.error("--components must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spec = dataset_spec(args.components)
    dataset = Dataset(spec)
    faults = FaultSettings(detail_latency_ms=args.latency_ms)
    app = create_simulator(dataset, SimulatorConfig(faults=faults))
    chosen = [s for s in SCENARIOS if s.label in args.scenarios.split(",")]
    results: list[Figures] = []
    with serve_in_thread(app) as api, tempfile.TemporaryDirectory() as scratch:
        work = args.logs or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for scenario in chosen:
            say(f"{scenario.label}: {scenario.slots} slots, {scenario.rest_ms} ms rest, "
                f"{scenario.workers} worker process(es) ...")  # fmt: skip
            figures = run_scenario(scenario, simulator_of(app), args, api, work)
            say(f"  {figures.calls_per_second} calls/s, wall {figures.wall_seconds} s, "
                f"max in flight {figures.max_in_flight}")  # fmt: skip
            results.append(figures)
    path: Path = args.results or RESULTS_DIR / f"fanout-{spec.total_components}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "components": spec.total_components,
                "detail_latency_ms": args.latency_ms,
                "threads_per_worker": args.threads,
                "scenarios": [asdict(f) for f in results],
                "measured_at": datetime.now(UTC).isoformat(),
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
        + "\n"
    )
    say(f"results written to {path}")
    print(f"components: {spec.total_components}, detail latency {args.latency_ms:g} ms")
    for f in results:
        print(
            f"{f.scenario}: {f.slots} slots / {f.rest_ms} ms rest / {f.workers} worker(s): "
            f"{f.calls_per_second} calls/s, {f.detail_calls} calls in {f.detail_seconds} s, "
            f"wall {f.wall_seconds} s, max in flight {f.max_in_flight}"
        )
    by_label = {f.scenario: f for f in results}
    if "a1" in by_label and "b2" in by_label and by_label["a1"].calls_per_second:
        print(f"speedup: {by_label['b2'].calls_per_second / by_label['a1'].calls_per_second:.1f}")


if __name__ == "__main__":
    main()
