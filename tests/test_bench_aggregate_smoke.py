"""``bench/aggregate.py`` stays alive: a tiny run merges what it should and writes its figures.

A smoke check, not a measurement (the figures of a 200-entity run mean nothing): it runs the
script against the test PostgreSQL and checks the counts the script prints and its JSON.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import server_url

ROOT = Path(__file__).resolve().parents[1]
ENTITIES = 200


@pytest.mark.timeout(180)
def test_a_tiny_aggregate_benchmark_merges_the_shared_half_and_reports(tmp_path: Path) -> None:
    results = tmp_path / "aggregate.json"
    command = [
        sys.executable, str(ROOT / "bench" / "aggregate.py"), "--entities", str(ENTITIES),
        "--page-size", "50", "--database-url", server_url(), "--results", str(results),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=170, check=False
    )
    output = f"{completed.stdout}\n--- stderr ---\n{completed.stderr[-4000:]}"
    assert completed.returncode == 0, output
    lines = completed.stdout.strip().splitlines()
    # three sources of 200: 100 refs shared by all, 100 of each source's own
    assert f"full merge: {3 * ENTITIES} records, 400 refs (100 merged bodies)" in lines[0], output
    assert "feed at 600" in lines[0], output  # 400 new refs, then 100 + 100 re-merged
    assert re.search(r"refresh 1% of bravo: .* 2 changes$", completed.stdout, re.M), output
    assert re.fullmatch(r"merge/COPY: \d+\.\d\d", lines[-1]), output

    document = json.loads(results.read_text())
    assert document["entities_per_source"] == ENTITIES
    (figures,) = document["rounds"]
    assert figures["merge_seconds"] > 0 and figures["copy_seconds"] > 0
    assert document["median_merge_over_copy"] == figures["merge_over_copy"]
