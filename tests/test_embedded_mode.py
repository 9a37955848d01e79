"""The embedded mode's worker: Celery's own worker API in a thread, not its testing helper.

Each test runs a fresh interpreter: what a process imports, which threads it leaves and how
it logs are process-wide, and pytest's Celery plugin may already have loaded
``celery.contrib.testing`` into this one. The demo's JSON summary and progress lines are
tested in ``tests/test_cli.py``; here, the worker's life and the printed summary.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.cli_runner import run_ingest

TESTING_PACKAGE = "celery.contrib.testing"


def _python(code: str, *args: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_importing_the_embedded_mode_loads_no_celery_testing_module() -> None:
    loaded = _python(
        "import json, sys\n"
        "import workers.embedded\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({TESTING_PACKAGE!r}))))\n"
    )
    assert loaded == []


ONE_DEMO = f"""
import json, sys, threading, time

from catalog_ingest.app.demo import demo_setup, run_demo
from workers.demo_passes import celery_pass_runner
from workers.embedded import embedded

def others():
    return [[t.name, t.daemon] for t in threading.enumerate() if t is not threading.main_thread()]

setup = demo_setup(sys.argv[1], 1, 2, 3)
try:
    with embedded(setup.runtime) as scheduler:
        running = others()
        summary = run_demo(setup, celery_pass_runner(scheduler, lambda _line: None))
        leaving = time.monotonic()
    exit_seconds = time.monotonic() - leaving
finally:
    setup.close()
print(json.dumps({{
    "running": running,
    "passes": [p.pass_number for p in summary.passes],
    "entities": summary.entities_by_kind,
    "exit_seconds": exit_seconds,
    "left": others(),
    "testing": sorted(m for m in sys.modules if m.startswith({TESTING_PACKAGE!r})),
}}))
"""


def test_the_worker_runs_tasks_from_the_memory_broker_and_stops_promptly(tmp_path: Path) -> None:
    report = _python(ONE_DEMO, f"sqlite:///{tmp_path / 'catalog.db'}")
    assert ["embedded-celery-worker", True] in report["running"]
    # Both passes completed: every tick and burst went through the broker to the worker.
    assert report["passes"] == [1, 2]
    assert report["entities"]["Domain"] == 1
    # The worker thread is gone, and nothing else keeps the process alive.
    assert report["left"] == [], report["left"]
    # Stopping does not wait for the consumer loop's 2-second poll (the testing helper did).
    assert report["exit_seconds"] < 1.0, report["exit_seconds"]
    assert report["testing"] == []


def test_the_demo_prints_its_summary(tmp_path: Path) -> None:
    result = run_ingest("demo", "--orgs", "1", "--projects", "2", "--components", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second, catalog, took = result.stdout.splitlines()
    pass_line = (
        r"pass {}: \d+ pages, (\d+) entities \(\d+ written, \d+ unchanged\), "
        r"(\d+) removed, \d+ bursts, \d+\.\ds"
    )
    pass_1 = re.fullmatch(pass_line.format(1), first)
    pass_2 = re.fullmatch(pass_line.format(2), second)
    assert pass_1 and pass_2, result.stdout
    assert pass_1[2] == "0" and int(pass_2[2]) > 0
    counts = re.fullmatch(r"catalog: (\d+) entities \((.*)\)", catalog)
    assert counts, catalog
    kinds = dict(item.split(": ") for item in counts[2].split(", "))
    assert sorted(kinds) == ["API", "Component", "Domain", "System"] and kinds["Domain"] == "1"
    assert int(counts[1]) == sum(map(int, kinds.values())) == int(pass_2[1])
    assert re.fullmatch(
        r"took \d+\.\ds; see it with: ingest export --database-url sqlite:///ingest-demo.db", took
    ), took


EXPIRY_IN_EMBEDDED_MODE = """
import json, sys
from datetime import UTC, datetime, timedelta

from catalog_ingest.app.composition import build_runtime
from catalog_ingest.app.config.schema import AppConfig
from tests.aggregation.merge_support import entity, write
from workers.embedded import embedded

runtime = build_runtime(AppConfig(database_url=sys.argv[1]))
an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
write(runtime.repository, "pushed", [entity("fleeting")], now=an_hour_ago, ttl_seconds=60)
before = runtime.repository.catalog_entry("component:default/fleeting") is not None
with embedded(runtime) as scheduler:
    scheduler.step()
    scheduler.in_flight.wait_idle()
after = runtime.repository.catalog_entry("component:default/fleeting") is not None
runtime.close()
print(json.dumps({"before": before, "after": after}))
"""


def test_the_embedded_mode_runs_the_expiry_like_beat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'expiry.db'}"
    assert _python(EXPIRY_IN_EMBEDDED_MODE, url) == {"before": True, "after": False}
