"""Benchmark: how long the ingested catalog takes to reach Backstage's catalog API, and where
the time goes.

    .venv/bin/python bench/backstage.py [--size 500] [--batch-size 500] [--poll-seconds 5]
                                        [--change-percent 1] [--results FILE] [--keep]

The OpenChoreo simulator serves a dataset of about ``--size`` entities; ``ingest run --embedded
--serve`` (the real tasks and the HTTP service in one process, SQLite) ingests it; a real
Backstage backend (``backstage/e2e-backend``: the catalog plugin and this project's module,
SQLite files, an empty database so the module reads the feed from position 0) is started the
moment the first pass has ended. Both come from ``tests/backstage/harness.py``.

1. **Initial load**: from the end of the first pass until Backstage's
   ``GET /api/catalog/entities/by-query`` answers every entity (``totalItems`` polled with a
   deadline, then one full read by pages compared with the feed: refs, specs, metadata).
2. **A 1% change**: that share of the entities changed, removed or added upstream (components
   of the simulator), then a pass; from the end of that pass until ``by-refs`` answers every
   changed ref as the feed has it (the removed ones gone) and ``totalItems`` is the new count.

Where the time goes, from Backstage's log, each line stamped by this script as it appears
(Backstage's JSON log carries no time; the file is written synchronously, the script reads it
every 20 ms): the module's feed batches (``catalog-ingest applied feed batch ... fetch_ms=
apply_ms= store_ms=``: the feed request, ``applyMutation``, the module's position commit),
then Backstage's processing and stitching (its debug lines ``Processing <ref>`` and
``Stitching <ref>``, one per entity and step; the log level is ``debug`` for that). CPU
seconds of the Backstage (node) and ingester processes and of the whole machine come from
``/proc``. Prints a table per phase, writes ``bench/results/backstage-<N>.json`` (N = the
entities of the first pass) and ``bench/results/backstage.json`` (the latest run).

Backstage also re-processes every entity on its own schedule (``catalog.processingInterval``,
by default every 100-150 s): during phase 2 those runs share the processing loop with the
changed entities; they are counted apart (``other processing``).
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from catalog_ingest.simulator.spec import DatasetSpec
from models.database import create_database_engine
from models.sql_repository import SqlRepository
from tests.backstage.harness import BATCH_LINE, Backstage, Ingester, assert_built
from tests.support.simulator_harness import running

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ENTITIES_PER_COMPONENT = 1.96
"""Entities per simulated component in the namespace era (a component, its APIs; plus a
system per project and a domain per namespace), measured: sizes the dataset for ``--size``."""
PROJECTS = 10
TIMING = re.compile(r"fetch_ms=([\d.]+) apply_ms=([\d.]+) store_ms=([\d.]+)")
PROCESSING = re.compile(r'"message":"Processing ([^"]+)"')
STITCHING = re.compile(r'"message":"Stitching ([^"]+)"')
OWNED = ("uid", "etag", "generation")
"""Metadata Backstage sets itself (not compared)."""


def say(line: str = "") -> None:
    print(line, flush=True)


def spec_for(size: int) -> DatasetSpec:
    """A dataset of about ``size`` entities: namespaces of ``PROJECTS`` projects."""
    components = max(1, round(size / ENTITIES_PER_COMPONENT))
    orgs = min(10, max(1, components // 400))
    per_project = max(1, round(components / (orgs * PROJECTS)))
    return DatasetSpec(orgs=orgs, projects=PROJECTS, components=per_project, seed=14)


# --- measuring ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def main_thread(pid: int) -> tuple[float, float]:
    """(running, waiting for a CPU) seconds of a process's main thread (``schedstat``): for
    node, the event loop, where better-sqlite3 runs its statements synchronously."""
    run_ns, wait_ns, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


@dataclass
class CpuWindow:
    """CPU used by the given processes and the machine between ``start()`` and ``stop()``."""

    pids: dict[str, int]
    started: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    states: dict[str, int] = field(default_factory=dict)
    """Samples of the state of Backstage's event loop thread every 50 ms (R: running or
    runnable, S: sleeping, D: blocked in disk I/O)."""
    _sampling: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None

    def _sample(self) -> None:
        path = Path(f"/proc/{self.pids['backstage']}/task/{self.pids['backstage']}/stat")
        while not self._sampling.wait(0.05):
            try:
                state = path.read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                return
            self.states[state] = self.states.get(state, 0) + 1

    def start(self) -> None:
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self.started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        run, wait = main_thread(self.pids["backstage"])
        self.started |= {"_run": run, "_wait": wait}
        busy, total = machine_seconds()
        self.started |= {"_busy": busy, "_total": total, "_wall": time.monotonic()}

    def stop(self) -> dict[str, float]:
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join(timeout=5)
        self.wall = time.monotonic() - self.started["_wall"]
        self.used = {
            name: round(cpu_seconds(pid) - self.started[name], 2) for name, pid in self.pids.items()
        }
        samples = sum(self.states.values()) or 1
        for state, label in (("R", "runnable"), ("S", "sleeping"), ("D", "disk_wait")):
            self.used[f"backstage_loop_sampled_{label}"] = round(
                self.states.get(state, 0) / samples, 3
            )
        run, wait = main_thread(self.pids["backstage"])
        run -= self.started["_run"]
        wait -= self.started["_wait"]
        # Of the wall time, Backstage's event loop ran, waited for a CPU, or was off CPU
        # (blocked in I/O such as SQLite's fsync, or idle).
        self.used["backstage_loop_running"] = round(run / self.wall, 3)
        self.used["backstage_loop_waiting_cpu"] = round(wait / self.wall, 3)
        self.used["backstage_loop_off_cpu"] = round(1 - (run + wait) / self.wall, 3)
        busy, total = machine_seconds()
        busy -= self.started["_busy"]
        total -= self.started["_total"]
        self.used["machine_busy"] = round(busy, 2)
        self.used["machine_busy_cores"] = round(busy / self.wall, 2)
        self.used["machine_idle_share"] = round(1 - busy / total, 3) if total else 0.0
        return self.used


class LogWatch:
    """Reads Backstage's log as it grows and stamps each line of interest with the time it
    appeared (``time.monotonic()``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches: list[dict[str, Any]] = []
        self.processing: list[tuple[float, str]] = []
        self.stitching: list[tuple[float, str]] = []
        self.lines = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backstage-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self.path.exists():
            if self._stop.is_set():
                return
            time.sleep(0.02)
        with self.path.open("rb") as log:
            pending = b""
            while True:
                chunk = log.read()
                now = time.monotonic()
                if chunk:
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    for raw in complete:
                        self._line(now, raw.decode("utf-8", "replace"))
                elif self._stop.is_set():
                    return
                else:
                    time.sleep(0.02)

    def _line(self, now: float, line: str) -> None:
        self.lines += 1
        if "Processing " in line:
            if match := PROCESSING.search(line):
                self.processing.append((now, match[1].lower()))
        elif "Stitching " in line:
            if match := STITCHING.search(line):
                self.stitching.append((now, match[1].lower()))
        elif "applied feed batch" in line:
            batch, timing = BATCH_LINE.search(line), TIMING.search(line)
            if batch and timing:
                after, next_position, added, removed = map(int, batch.groups())
                fetch_ms, apply_ms, store_ms = map(float, timing.groups())
                self.batches.append(
                    {
                        "at": now,
                        "after": after,
                        "next": next_position,
                        "added": added,
                        "removed": removed,
                        "fetch_ms": fetch_ms,
                        "apply_ms": apply_ms,
                        "store_ms": store_ms,
                    }
                )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def read_feed(database_url: str, after: int) -> tuple[dict[str, dict[str, Any] | None], int]:
    """The feed after ``after``, squashed by ref (the last state wins), and its head."""
    repository = SqlRepository(create_database_engine(database_url))
    try:
        changes: dict[str, dict[str, Any] | None] = {}
        while True:
            batch = repository.read_feed(after, 1000)
            assert not batch.relist
            if not batch.changes:
                return changes, after
            for change in batch.changes:
                changes[change.ref.lower()] = change.entity
            after = batch.next_position
    finally:
        repository.engine.dispose()


def covers(held: Any, expected: Any) -> bool:
    """``held`` has everything ``expected`` has (dicts: every key, recursively)."""
    if isinstance(expected, dict):
        return isinstance(held, dict) and all(
            key in held and covers(held[key], value) for key, value in expected.items()
        )
    return bool(held == expected)


def same_entity(held: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    if expected is None or held is None:
        return held is None and expected is None
    metadata = {k: v for k, v in expected["metadata"].items() if k not in OWNED}
    rest = {k: v for k, v in expected.items() if k not in ("metadata", "relations", "status")}
    return covers(held.get("metadata"), metadata) and covers(held, rest)


def poll(check: Callable[[], bool], deadline: float, every: float) -> float | None:
    """Time (monotonic) at which ``check`` first held, or None when ``deadline`` passed."""
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            return None
        time.sleep(every)


# --- the phases -----------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    entities: int
    """Entities (phase 1) or changed refs (phase 2) Backstage has to answer."""
    pass_seconds: float
    converged: bool
    delivery_seconds: float | None
    """From the end of the pass until ``by-query`` / ``by-refs`` answered all of them."""
    breakdown: dict[str, Any]
    cpu: dict[str, float]


def spread(times: list[float], origin: float) -> dict[str, Any]:
    if not times:
        return {"count": 0}
    first, last = min(times) - origin, max(times) - origin
    window = last - first
    return {
        "count": len(times),
        "first_s": round(first, 2),
        "last_s": round(last, 2),
        "per_second": round(len(times) / window, 1) if window > 0 else None,
    }


def breakdown(
    watch: LogWatch,
    origin: float,
    converged_at: float | None,
    refs: set[str],
    since: float,
) -> dict[str, Any]:
    """Where the time went between ``origin`` (the end of the pass) and ``converged_at``,
    from the log lines that appeared after ``since``."""
    batches = [b for b in watch.batches if b["at"] >= since]
    if batches:
        # Processing of these refs before the module's first request was a refresh of
        # their previous state (phase 2): counted from that request on.
        first = batches[0]
        since = first["at"] - (first["fetch_ms"] + first["apply_ms"] + first["store_ms"]) / 1000
    processing = [(t, ref) for t, ref in watch.processing if t >= since]
    stitching = [(t, ref) for t, ref in watch.stitching if t >= since]
    first_processing: dict[str, float] = {}
    for t, ref in processing:
        if ref in refs:
            first_processing.setdefault(ref, t)
    mine = sum(1 for _, ref in processing if ref in refs)
    first_stitching: dict[str, float] = {}
    for t, ref in stitching:
        if ref in refs:
            first_stitching.setdefault(ref, t)
    figures: dict[str, Any] = {"batches": len(batches)}
    if batches:
        fetch = sum(b["fetch_ms"] for b in batches) / 1000
        apply = sum(b["apply_ms"] for b in batches) / 1000
        store = sum(b["store_ms"] for b in batches) / 1000
        started = since
        figures |= {
            "items": sum(b["added"] + b["removed"] for b in batches),
            "first_fetch_s": round(started - origin, 2),
            "last_applied_s": round(batches[-1]["at"] - origin, 2),
            "fetch_s": round(fetch, 2),
            "apply_s": round(apply, 2),
            "store_s": round(store, 2),
            "fetch_ms_per_batch": round(1000 * fetch / len(batches), 1),
            "apply_ms_per_batch": round(1000 * apply / len(batches), 1),
            "apply_ms_max": round(max(b["apply_ms"] for b in batches), 1),
        }
    # First processing and stitching of each ref; Backstage's own refreshes of refs it had
    # processed already (``catalog.processingInterval``) and of other refs are counted apart.
    figures["processing"] = spread(list(first_processing.values()), origin)
    figures["reprocessing"] = mine - len(first_processing)
    figures["other_processing"] = len(processing) - mine
    figures["stitching"] = spread(list(first_stitching.values()), origin)
    figures["stitching_all"] = len(stitching)
    if converged_at is not None and batches:
        figures["after_last_batch_s"] = round(converged_at - batches[-1]["at"], 2)
    return figures


def initial_load(
    ingester: Ingester, backstage: Backstage, watch: LogWatch, deadline_seconds: float
) -> tuple[Phase, dict[str, dict[str, Any]], int, str]:
    started = time.monotonic()
    ingestion = ingester.first_pass()
    pass_end = time.monotonic()
    feed, head = read_feed(ingester.database_url, 0)
    expected = {ref: entity for ref, entity in feed.items() if entity is not None}
    say(f"pass 1: {len(expected)} entities in the feed (head {head}), "
        f"{pass_end - started:.1f} s (ingester start and pass)")  # fmt: skip

    backstage.start()
    listening = time.monotonic()
    assert backstage.process is not None and ingester.process is not None
    cpu = CpuWindow({"backstage": backstage.process.pid, "ingester": ingester.process.pid})
    cpu.start()
    converged_at = poll(
        lambda: backstage.count() >= len(expected), pass_end + deadline_seconds, 0.5
    )
    used = cpu.stop()
    held = backstage.entities(page_size=1000)
    wrong = [ref for ref, entity in expected.items() if not same_entity(held.get(ref), entity)]
    extra = sorted(set(held) - set(expected))
    converged = converged_at is not None and not wrong and not extra
    if wrong or extra:
        say(f"phase 1: {len(wrong)} entities differ or are missing (e.g. {wrong[:3]}), "
            f"{len(extra)} left over (e.g. {extra[:3]})")  # fmt: skip
    figures = breakdown(watch, pass_end, converged_at, set(expected), since=0.0)
    figures["backstage_start_s"] = round(listening - pass_end, 2)
    phase = Phase(
        "initial load",
        len(expected),
        round(pass_end - started, 2),
        converged,
        round(converged_at - pass_end, 2) if converged_at is not None else None,
        figures,
        used,
    )
    return phase, expected, head, ingestion


def one_percent_change(
    ingester: Ingester,
    backstage: Backstage,
    watch: LogWatch,
    catalog: dict[str, dict[str, Any]],
    head: int,
    ingestion: str,
    percent: float,
    deadline_seconds: float,
) -> Phase:
    upstream = ingester.upstream
    # The share of entities, as components: a third each changed, removed and added.
    components = max(3, math.ceil(len(catalog) * percent / 100 / ENTITIES_PER_COMPONENT))
    third = max(1, components // 3)
    report = upstream.dataset.mutate(
        change=components - 2 * third, remove=third, add=third, seed=41, levels=("component",)
    )
    say(f"upstream change: {len(report.changed)} components changed, "
        f"{len(report.removed)} removed, {len(report.added)} added")  # fmt: skip
    started = time.monotonic()
    ingester.run_pass(ingestion)
    pass_end = time.monotonic()
    assert backstage.process is not None and ingester.process is not None
    cpu = CpuWindow({"backstage": backstage.process.pid, "ingester": ingester.process.pid})
    cpu.start()
    changes, _ = read_feed(ingester.database_url, head)
    after: dict[str, dict[str, Any] | None] = {**catalog, **changes}
    total = sum(1 for entity in after.values() if entity is not None)
    removed = sum(1 for entity in changes.values() if entity is None)
    say(f"pass 2: {len(changes)} changed refs in the feed ({removed} removed), "
        f"{total} entities, {pass_end - started:.1f} s")  # fmt: skip
    refs = sorted(changes)

    def answered() -> bool:
        held = backstage.by_refs(refs)
        if not all(same_entity(h, changes[ref]) for ref, h in zip(refs, held, strict=True)):
            return False
        return backstage.count() == total

    converged_at = poll(answered, pass_end + deadline_seconds, 0.5)
    used = cpu.stop()
    # The module may fetch the pass's first pages before the pass ends (negative times).
    figures = breakdown(watch, pass_end, converged_at, set(changes), since=started)
    figures["removed"] = removed
    return Phase(
        f"{percent:g}% change",
        len(changes),
        round(pass_end - started, 2),
        converged_at is not None,
        round(converged_at - pass_end, 2) if converged_at is not None else None,
        figures,
        used,
    )


# --- output ---------------------------------------------------------------------------------


def table(phases: list[Phase]) -> list[str]:
    def cell(phase: Phase, key: str, unit: str = " s") -> str:
        value = phase.breakdown.get(key)
        return "-" if value is None else f"{value:g}{unit}"

    def processing(phase: Phase, key: str) -> str:
        spread = phase.breakdown[key]
        if not spread.get("count"):
            return "-"
        rate = f", {spread['per_second']:g}/s" if spread.get("per_second") else ""
        return f"{spread['count']} from {spread['first_s']:g} to {spread['last_s']:g} s{rate}"

    rows: list[tuple[str, Callable[[Phase], str]]] = [
        ("entities to answer", lambda p: f"{p.entities:,}"),
        ("ingestion pass", lambda p: f"{p.pass_seconds:g} s"),
        ("**pass end → all answered by by-query**",
         lambda p: f"**{p.delivery_seconds:g} s**" if p.delivery_seconds is not None
         else "not converged"),
        ("Backstage start-up (empty database)", lambda p: cell(p, "backstage_start_s")),
        ("first feed request", lambda p: cell(p, "first_fetch_s")),
        ("last batch applied", lambda p: cell(p, "last_applied_s")),
        ("feed batches (items)",
         lambda p: f"{p.breakdown['batches']} ({p.breakdown.get('items', 0):,})"),
        ("feed requests, total (per batch)",
         lambda p: f"{cell(p, 'fetch_s')} ({cell(p, 'fetch_ms_per_batch', ' ms')})"),
        ("applyMutation, total (per batch, max)",
         lambda p: f"{cell(p, 'apply_s')} ({cell(p, 'apply_ms_per_batch', ' ms')}, "
         f"{cell(p, 'apply_ms_max', ' ms')})"),
        ("module position commits, total", lambda p: cell(p, "store_s")),
        ("first processing of these entities", lambda p: processing(p, "processing")),
        ("first stitching of these entities", lambda p: processing(p, "stitching")),
        ("refresh runs meanwhile (these / others)",
         lambda p: f"{p.breakdown['reprocessing']:,} / {p.breakdown['other_processing']:,}"),
        ("last batch applied → all answered", lambda p: cell(p, "after_last_batch_s")),
        ("CPU: Backstage (node) / ingester",
         lambda p: f"{p.cpu['backstage']:g} s / {p.cpu['ingester']:g} s"),
        ("Backstage's event loop: running / waiting for CPU / off CPU",
         lambda p: f"{100 * p.cpu['backstage_loop_running']:.0f}% / "
         f"{100 * p.cpu['backstage_loop_waiting_cpu']:.0f}% / "
         f"{100 * p.cpu['backstage_loop_off_cpu']:.0f}%"),
        ("the same, sampled: runnable / sleeping / in disk I/O (D)",
         lambda p: f"{100 * p.cpu['backstage_loop_sampled_runnable']:.0f}% / "
         f"{100 * p.cpu['backstage_loop_sampled_sleeping']:.0f}% / "
         f"{100 * p.cpu['backstage_loop_sampled_disk_wait']:.0f}%"),
        ("CPU: machine busy (cores of 2)", lambda p: f"{p.cpu['machine_busy_cores']:g}"),
    ]  # fmt: skip
    lines = [
        "| | " + " | ".join(p.name for p in phases) + " |",
        "|---|" + "---|" * len(phases),
    ]
    lines += ["| " + label + " | " + " | ".join(f(p) for p in phases) + " |" for label, f in rows]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=500, help="about this many entities")
    parser.add_argument("--batch-size", type=int, default=500, help="catalogIngest.batchSize")
    parser.add_argument("--poll-seconds", type=float, default=5.0,
                        help="catalogIngest.schedule.frequency")  # fmt: skip
    parser.add_argument("--change-percent", type=float, default=1.0)
    parser.add_argument("--deadline-seconds", type=float,
                        help="per phase (default: 120 s + 100 ms per entity)")  # fmt: skip
    parser.add_argument("--results", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    assert_built()
    spec = spec_for(args.size)
    deadline = args.deadline_seconds or 120 + 0.1 * args.size
    work = Path(tempfile.mkdtemp(prefix="bench-backstage-"))
    say(f"dataset: {spec.orgs} namespaces x {spec.projects} projects x {spec.components} "
        f"components ({spec.total_components} components); batch size {args.batch_size}, "
        f"poll every {args.poll_seconds:g} s; load average {os.getloadavg()[0]:.2f}; "
        f"scratch {work}")  # fmt: skip
    phases: list[Phase] = []
    try:
        with running(spec) as upstream:
            ingester = Ingester(
                work,
                upstream,
                pass_seconds=600,
                provider_options={"burst_length": 300},
            )
            backstage = Backstage(
                work,
                ingester.url,
                batch_size=args.batch_size,
                poll_seconds=args.poll_seconds,
                log_level="debug",
                start_seconds=300,
            )
            watch = LogWatch(work / "backstage-1.log")
            try:
                ingester.start()
                phase, catalog, head, ingestion = initial_load(ingester, backstage, watch, deadline)
                phases.append(phase)
                say(f"phase 1: {phase.delivery_seconds} s from the pass end; "
                    f"{json.dumps(phase.breakdown)}")  # fmt: skip
                if phase.converged:
                    phase = one_percent_change(
                        ingester,
                        backstage,
                        watch,
                        catalog,
                        head,
                        ingestion,
                        args.change_percent,
                        deadline,
                    )
                    phases.append(phase)
                    say(f"phase 2: {phase.delivery_seconds} s from the pass end; "
                        f"{json.dumps(phase.breakdown)}")  # fmt: skip
            finally:
                backstage.stop()
                ingester.stop()
                watch.stop()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    say()
    for line in table(phases):
        say(line)
    say()
    entities = phases[0].entities if phases else 0
    document = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "bench/backstage.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "size": args.size,
        "dataset": {"namespaces": spec.orgs, "projects": spec.projects,
                    "components": spec.components, "total_components": spec.total_components},
        "batch_size": args.batch_size,
        "poll_seconds": args.poll_seconds,
        "cores": os.cpu_count(),
        "load_average_after": round(os.getloadavg()[0], 2),
        "phases": [phase.__dict__ for phase in phases],
    }  # fmt: skip
    text = json.dumps(document, indent=2) + "\n"
    paths = [args.results] if args.results else [
        RESULTS_DIR / f"backstage-{entities}.json", RESULTS_DIR / "backstage.json"
    ]  # fmt: skip
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    say(f"results written to {', '.join(str(p) for p in paths)}")
    if not all(phase.converged for phase in phases) or len(phases) < 2:
        sys.exit(1)


if __name__ == "__main__":
    main()
