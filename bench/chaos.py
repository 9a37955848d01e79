"""Chaos suite: kill, freeze and restart a real deployment mid-pass, then check the catalog.

    .venv/bin/python bench/chaos.py [--kills 50] [--size 240] [--seed 1] [--repeat 1]
                                    [--matrix full|quick] [--results FILE] [--keep DIR]

It starts its own PostgreSQL and Redis (free loopback ports, a temporary directory; never the
machine's shared servers), serves the OpenChoreo simulator in-process (organization era, so
every service costs a detail call on the ``details`` queue), and runs the deployment of
``docker-compose.yml`` as real processes configured through ``INGEST_CONFIG``: two
``celery --app=workers worker --queues=ingest,admin`` (prefork), one ``--queues=details
--pool=threads`` and ``celery --app=workers beat``. The upstream changes (adds, changes,
removals) before every pass. Scenarios, in order:

- ``baseline``: the first pass;
- ``kill-ingest`` / ``kill-details`` (``--kills N`` rounds, the victim drawn at random): kill -9
  of the ingest worker running the burst (after a random number of pages) or of the details
  worker (after a random number of detail calls), restarted at once;
- ``sigstop``: SIGSTOP of the worker running the burst, past its lock's TTL, until the other
  worker has taken the pass over; then SIGCONT (its late writes must be fenced out);
- ``redis-restart``, ``postgres-restart``: kill -9 / immediate restart mid-pass;
- ``fault:*``: the upstream fault matrix (``bench/chaos_scenarios.py``: 5xx, 429, timeouts,
  malformed JSON, expiring and stuck tokens, failing components, partial rates and a mix;
  ``--matrix quick``: the mix only), each for one pass, then one clean ``fault-heal`` pass;
  staleness during a fault pass is expected (a component whose detail call failed is stored
  from its listing, its APIs kept as they were) and reported, not counted;
- ``mass-removal``, then ``empty-source``: upstream loses 70% of its projects, then every
  organization; the guards must refuse both sweeps and keep everything; then upstream comes
  back (``guards-restored``: a clean pass must match it exactly).

After each pass completes, the catalog is compared with the simulator's truth (see
``bench/chaos_check.py``): missing, extra, duplicated, stale, wrongly removed. One line per
run goes to stdout; the figures go to ``bench/results/chaos-<N>.json``. The last line is
``chaos: K/N kills survived, M missing, E extra, D duplicated, W wrongly removed`` (M, E, D and
W over every scenario), after a ``failed runs:`` line naming any run that failed. The exit
status is 1 when a kill round failed or anything is missing, extra, duplicated or wrongly
removed; ``--strict`` also fails on any other failed run (a deployment that stopped
progressing, a stale entity after a clean pass, a disruption that could not be applied).
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.chaos_check import (
    Discrepancies,
    catalog_refs,
    compare,
    export_duplicates,
    stored_catalog,
    stored_duplicates,
)
from bench.chaos_deployment import (
    NOT_LIVE,
    PROVIDER,
    UNTESTED,
    Deployment,
    PassTimeoutError,
)
from bench.chaos_scenarios import FAULT_MATRIX, QUICK_MATRIX, FaultCase
from catalog_ingest.simulator.spec import DatasetSpec
from tests.support.openchoreo_catalog import expected_catalog

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CLEAN_END = "0 missing, 0 extra, 0 duplicated, 0 wrongly removed"


@dataclass
class Run:
    """One scenario run: what was done, whether the pass completed, what the check found."""

    kind: str
    label: str
    seconds: float
    completed: bool
    found: Discrepancies
    notes: list[str] = field(default_factory=list)
    degraded_stale: int = 0
    """Stale entities a fault pass left (expected: healed by the next clean pass)."""

    @property
    def survived(self) -> bool:
        """The pass completed, the disruption really happened, and the catalog is upstream."""
        tested = not any(note.startswith((UNTESTED, NOT_LIVE)) for note in self.notes)
        return self.completed and tested and self.found.exact

    def line(self) -> str:
        verdict = "ok" if self.survived else "FAILED"
        notes = f" [{'; '.join(self.notes)}]" if self.notes else ""
        return f"{self.label}: {verdict} in {self.seconds:.1f}s, {self.found.describe()}{notes}"


class Suite:
    """The scenarios, run one after another against one deployment."""

    def __init__(self, deployment: Deployment, args: argparse.Namespace) -> None:
        self.d = deployment
        self.args = args
        self.rng = random.Random(args.seed)
        self.runs: list[Run] = []
        self.previous_pages = 1
        self.previous_details = 1

    # The check

    def check(self, before: set[str], must_keep: set[str] | None = None) -> Discrepancies:
        truth = expected_catalog(self.d.dataset)
        stored = stored_catalog(self.d.database, PROVIDER)
        found = compare(truth, stored, before, must_keep or set())
        found.duplicated = stored_duplicates(self.d.database, PROVIDER)
        return found

    def check_export(self, run: Run) -> None:
        """The operator's view too: ``ingest export`` must hold each catalog row once."""
        duplicated, problem = export_duplicates(
            self.d.config_path, len(catalog_refs(self.d.database))
        )
        run.found.duplicated += duplicated
        if problem:
            run.notes.append(problem)
            run.completed = False

    def record(self, run: Run) -> Run:
        self.runs.append(run)
        print(run.line(), flush=True)
        for example in run.found.examples:
            print(f"    {example}", flush=True)
        return run

    # One pass with something done to it

    def mutate(self) -> None:
        size = self.d.spec.total_components
        self.d.dataset.mutate(
            add=max(1, size // 100), change=max(1, size // 40), remove=max(1, size // 200),
            seed=self.rng.randrange(1 << 30), levels=("project", "component"),
        )  # fmt: skip

    def passes(
        self, kind: str, label: str, during: Callable[[str | None], list[str]], mutate: bool = True
    ) -> Run:
        """Mutate upstream, start a pass, run ``during`` while it runs, wait for its end and
        compare the catalog with upstream."""
        if mutate:
            self.mutate()
        before = catalog_refs(self.d.database)
        started = time.monotonic()
        previous = self.d.start_pass()
        notes = during(previous)
        completed = self._finish(previous, notes)
        self.d.ensure_alive(notes)
        run = Run(kind, label, time.monotonic() - started, completed, self.check(before), notes)
        return run

    def _finish(self, previous: str | None, notes: list[str]) -> bool:
        try:
            row = self.d.wait_pass(previous, self.args.pass_timeout)
        except PassTimeoutError as error:
            notes.append(str(error))
            self.d.recover(notes)
            return False
        self.previous_pages = max(1, row.pages)
        self.previous_details = max(1, self.d.detail_calls_of_last_pass)
        if row.last_error:
            notes.append(f"last_error: {row.last_error[:120]}")
        return True

    # Scenarios

    def baseline(self) -> None:
        self.record(self.passes("baseline", "baseline (first pass)", lambda _: [], mutate=False))

    def kill(self, index: int) -> Run:
        kind = self.rng.choice(("kill-ingest", "kill-details"))
        label = f"kill {index}/{self.args.kills} ({kind.removeprefix('kill-')})"

        def during(previous: str | None) -> list[str]:
            if kind == "kill-ingest":
                return self.d.kill_burst_worker(previous, self.rng.randrange(self.previous_pages))
            threshold = 1 + self.rng.randrange(max(1, self.previous_details * 2 // 3))
            return self.d.kill_details_worker(previous, threshold, self.rng.uniform(0, 1))

        return self.record(self.passes(kind, label, during))

    def sigstop(self, index: int) -> None:
        label = f"sigstop {index} (worker frozen past its lock TTL, then SIGCONT)"
        self.record(self.passes("sigstop", label, self.d.freeze_burst_worker))

    def redis_restart(self, index: int) -> None:
        """Also watches for issue 15's item 13: ``SoftTimeLimitExceeded`` logged after it."""

        def during(previous: str | None) -> list[str]:
            return self.d.restart_mid_pass(previous, "redis")

        self.d.soft_time_limit_notes()  # only what this scenario causes is reported
        run = self.passes("redis-restart", f"redis restart {index}", during)
        run.notes += self.d.soft_time_limit_notes()
        self.record(run)

    def postgres_restart(self, index: int) -> None:
        def during(previous: str | None) -> list[str]:
            return self.d.restart_mid_pass(previous, "postgres")

        self.record(self.passes("postgres-restart", f"postgres restart {index}", during))

    def fault(self, case: FaultCase) -> None:
        failing = self.d.set_faults(case)

        def during(previous: str | None) -> list[str]:
            return failing + (self.d.await_reported_error(previous) if case.blocking else [])

        run = self.passes(f"fault:{case.name}", f"fault {case.name} ({case.what})", during)
        self.d.clear_faults()
        run.degraded_stale, run.found.stale = run.found.stale, 0
        run.found.examples = [e.replace("stale:", "degraded:", 1) for e in run.found.examples]
        if run.degraded_stale:
            run.notes.append(f"{run.degraded_stale} stale until the next clean pass (degraded)")
        self.record(run)

    def heal(self) -> None:
        label = "fault-heal (clean pass after the matrix)"
        self.record(self.passes("fault-heal", label, lambda _: [], mutate=False))

    def guarded(self, kind: str, label: str, removed: list[str]) -> None:
        """Upstream has lost ``removed`` past a guard: the sweep must be refused and keep
        every entity the catalog had."""
        before = catalog_refs(self.d.database)
        started = time.monotonic()
        previous = self.d.start_pass()
        notes = [f"upstream lost {len(removed)} item(s)"]
        completed = self._finish(previous, notes)
        found = self.check(before, must_keep=before)
        if not any(note.startswith("last_error: removal refused") for note in notes):
            notes.append("the guard did not refuse the sweep")
            completed = False
        self.record(Run(kind, label, time.monotonic() - started, completed, found, notes))

    def guards(self) -> None:
        """Mass removal (70% of the projects), then an empty source (every organization),
        both refused; then upstream comes back and a clean pass must match it exactly."""
        projects = list(self.d.dataset.paths("project"))
        chosen = self.rng.sample(projects, (len(projects) * 7 + 9) // 10)
        removed = self.d.remove_paths(chosen)
        self.guarded("mass-removal", "mass removal (70% of projects gone)", removed)
        orgs = self.d.remove_paths(list(self.d.dataset.paths("org")))
        self.guarded("empty-source", "empty source (every organization gone)", orgs)
        self.d.restore(removed + orgs)
        label = "guards-restored (upstream back, clean pass)"
        restored = self.passes("guards-restored", label, lambda _: [], mutate=False)
        self.check_export(restored)
        self.record(restored)

    def run_all(self) -> None:
        self.baseline()
        for index in range(1, self.args.kills + 1):
            self.kill(index)
        for index in range(1, self.args.repeat + 1):
            self.sigstop(index)
            self.redis_restart(index)
            self.postgres_restart(index)
        for case in FAULT_MATRIX if self.args.matrix == "full" else QUICK_MATRIX:
            self.fault(case)
        self.heal()
        self.guards()


def summary(runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Per scenario kind: runs, survived, the discrepancies' sums and the total duration."""
    table: dict[str, dict[str, Any]] = {}
    for run in runs:
        row = table.setdefault(
            run.kind, {"runs": 0, "survived": 0, "degraded_stale": 0, "seconds": 0.0}
        )
        row["runs"] += 1
        row["survived"] += int(run.survived)
        row["degraded_stale"] += run.degraded_stale
        row["seconds"] = round(row["seconds"] + run.seconds, 1)
        for key, value in run.found.figures().items():
            row[key] = row.get(key, 0) + value
    return table


def final_line(runs: list[Run], kills: int) -> str:
    survived = sum(run.survived for run in runs if run.kind.startswith("kill-"))
    total = Discrepancies()
    for run in runs:
        total.add(run.found)
    return (
        f"chaos: {survived}/{kills} kills survived, {total.missing} missing, {total.extra} extra, "
        f"{total.duplicated} duplicated, {total.wrongly_removed} wrongly removed"
    )


def write_results(path: Path, args: argparse.Namespace, runs: list[Run], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": "bench/chaos.py " + " ".join(sys.argv[1:]),
        "commit": git_commit(),
        "kills": args.kills,
        "size": args.size,
        "seed": args.seed,
        "matrix": args.matrix,
        "summary": summary(runs),
        "runs": [
            {**asdict(run), "survived": run.survived, "found": asdict(run.found)} for run in runs
        ],
        "seconds": round(seconds, 1),
        "measured_at": datetime.now(UTC).isoformat(),
        "final": final_line(runs, args.kills),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def git_commit() -> str:
    """HEAD, and whether the tree had uncommitted changes (the run measured those too)."""
    root = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
        status = [*git, "status", "--porcelain"]
        dirty = subprocess.run(status, capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=10, help="kill -9 rounds (default 10)")
    parser.add_argument("--size", type=int, default=240, help="upstream components (about)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of sigstop and restarts")
    parser.add_argument("--matrix", choices=("full", "quick"), default="full")
    parser.add_argument("--pass-timeout", type=float, default=180.0)
    parser.add_argument("--results", type=Path, help="default: bench/results/chaos-<N>.json")
    parser.add_argument("--keep", type=Path, help="copy the servers' and workers' logs here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any run failed")
    args = parser.parse_args(argv)
    if args.kills < 0 or args.size < 8 or args.repeat < 0:
        parser.error("--kills and --repeat must be >= 0 and --size >= 8")
    return args


def dataset_spec(size: int, seed: int) -> DatasetSpec:
    """Two organizations of four projects; ``size`` components in all (rounded down)."""
    return DatasetSpec(orgs=2, projects=4, components=max(1, size // 8), seed=seed)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def scratch_directory(keep: Path | None) -> Iterator[Path]:
    """A temporary directory the ``postgres`` user can traverse; its logs copied to ``keep``."""
    root = Path(tempfile.mkdtemp(prefix="chaos-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for log in root.glob("*.log"):
                shutil.copy(log, keep / log.name)
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C cleans up too, even when started from a shell that ignores SIGINT (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    suite: Suite | None = None
    with ExitStack() as stack:
        root = stack.enter_context(scratch_directory(args.keep))
        deployment = stack.enter_context(
            Deployment.running(root, dataset_spec(args.size, args.seed), args.seed)
        )
        print(deployment.describe(), file=sys.stderr, flush=True)
        suite = Suite(deployment, args)
        suite.run_all()
    runs = suite.runs if suite else []
    path: Path = args.results or RESULTS_DIR / f"chaos-{args.kills}.json"
    write_results(path, args, runs, time.monotonic() - started)
    print(f"results written to {path}", file=sys.stderr)
    failed = [run.label for run in runs if not run.survived]
    if failed:
        print(f"failed runs: {'; '.join(failed)}", flush=True)
    line = final_line(runs, args.kills)
    print(line, flush=True)
    return exit_status(runs, line, args)


def exit_status(runs: list[Run], line: str, args: argparse.Namespace) -> int:
    """1 when a kill round failed or anything is missing, extra, duplicated or wrongly
    removed; with ``--strict`` also when any other run failed (a pass that stopped
    progressing, a stale entity after a clean pass, a disruption that could not be applied)."""
    kills = [run for run in runs if run.kind.startswith("kill-")]
    data_safe = line.endswith(CLEAN_END) and len(kills) == args.kills
    data_safe = data_safe and all(run.survived for run in kills)
    if not data_safe:
        return 1
    return 1 if args.strict and any(not run.survived for run in runs) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers and workers are gone by now
        print("chaos: interrupted; servers and workers stopped", file=sys.stderr)
        sys.exit(130)
