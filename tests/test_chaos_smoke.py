"""``bench/chaos.py`` stays alive: a small run (3 kill rounds, every scenario kind) survives.

The script starts its own PostgreSQL and Redis, so this test needs their binaries (not the
shared servers); without them it fails with the reason, never skips.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.chaos_services import postgres_bin_dir

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ("--kills", "3", "--size", "48", "--matrix", "quick", "--seed", "3")
TIMEOUT = 175
"""Seconds; about 110-150 on the 2-core project machine, depending on its load."""
CLEAN = "chaos: 3/3 kills survived, 0 missing, 0 extra, 0 duplicated, 0 wrongly removed"
KINDS = {
    "baseline", "sigstop", "redis-restart", "postgres-restart", "fault:mixed", "fault-heal",
    "mass-removal", "empty-source", "guards-restored",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 30)
def test_a_small_chaos_run_survives_every_kill_with_a_clean_catalog(tmp_path: Path) -> None:
    postgres_bin_dir()  # raises with the reason when the server binaries are missing
    results = tmp_path / "chaos.json"
    command = [sys.executable, str(ROOT / "bench" / "chaos.py"), *SMOKE, "--results", str(results)]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    output = f"{completed.stdout}\n--- stderr ---\n{completed.stderr[-4000:]}"
    lines = completed.stdout.strip().splitlines()
    assert lines, output
    assert lines[-1] == CLEAN, output
    assert completed.returncode == 0, output

    document = json.loads(results.read_text())
    summary = document["summary"]
    assert set(summary) >= KINDS, sorted(summary)
    kills = sum(summary.get(kind, {}).get("runs", 0) for kind in ("kill-ingest", "kill-details"))
    assert kills == 3
    for kind, row in summary.items():
        assert row["missing"] == row["extra"] == row["duplicated"] == 0, (kind, row)
        assert row["stale"] == row["wrongly_removed"] == 0, (kind, row)
        if kind.startswith("kill-"):
            assert row["survived"] == row["runs"], (kind, row)
