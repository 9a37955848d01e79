"""The sweep's memory does not grow with the number of entities it removes.

Each size runs in a process of its own (``tests/support/memory_probe.py``), on its own scratch
database, so that the resident set size says something about that run alone. The probe ingests
N small entities, removes every other one upstream, and reports the RSS growth during the second
pass, whose sweep deletes N/2 entities.

Bounds, from measurements on a 2-core machine (PostgreSQL 15, Python 3.11). Since the sweep
re-merges each removal batch into the merged catalog and its change feed, a batch (5,000 refs)
has a transient cost of its own: Python's traced peak during the second pass is 3.8 MB at
N=20,000 and 6.3 / 6.5 MB at N=100,000 / 200,000 (tracemalloc), flat once batches repeat; the
RSS grew by 1.2 MB at N=20,000, 3.8 MB at 100,000, 8.4 MB at 200,000 and 9.3 MB at 400,000.
A sweep that kept the refs it removed in a Python list (a simulated regression) adds about
8 MB at N=200,000. Hence, comparing two sizes in that flat regime:

- ``MAX_GROWTH_KB`` (16 MB): a fixed bound that does not scale with N;
- ``MAX_EXTRA_GROWTH_KB`` (6 MB): how much more the 200k run may grow than the 100k one (the
  list regression would add about 4 MB more at 200k than at 100k on top of the measured
  difference, and fail one bound or the other).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import scratch_postgres_database

ROOT = Path(__file__).resolve().parent.parent
LARGE = 200_000
SMALL = 100_000
MAX_GROWTH_KB = 16 * 1024
MAX_EXTRA_GROWTH_KB = 6 * 1024
PROBE_TIMEOUT_SECONDS = 420
"""The 200k probe took 57-63 s (both passes) on the machine above; the whole test about 80 s."""


def run_probe(entities: int) -> dict[str, int]:
    with scratch_postgres_database("ingest_memory") as url:
        command = [sys.executable, "-m", "tests.support.memory_probe"]
        command += ["--database-url", url, "--entities", str(entities)]
        completed = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr[-4000:]
    figures: dict[str, int] = json.loads(completed.stdout.splitlines()[-1])
    return figures


def assert_exact_counts(figures: dict[str, int], entities: int) -> None:
    assert figures["first_pass_seen"] == entities, figures
    assert figures["second_pass_seen"] == entities // 2, figures
    assert figures["removed"] == entities // 2, figures


@pytest.mark.slow
def test_sweeping_100k_entities_costs_no_more_memory_than_sweeping_50k() -> None:
    small = run_probe(SMALL)
    large = run_probe(LARGE)

    assert_exact_counts(small, SMALL)
    assert_exact_counts(large, LARGE)
    report = f"100k run: {small}; 200k run: {large}"
    assert large["growth_kb"] < MAX_GROWTH_KB, report
    assert large["growth_kb"] <= small["growth_kb"] + MAX_EXTRA_GROWTH_KB, report
    assert large["maxrss_after_kb"] - large["maxrss_before_kb"] < MAX_GROWTH_KB, report
