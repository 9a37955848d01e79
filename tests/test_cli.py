"""The command line as users meet it: clear errors, exit codes, the demo and export."""

import json
import re
import time
from pathlib import Path

import httpx
import pytest
import yaml

from catalog_ingest.app.demo import TOP_LEVEL, DemoApi, mutate
from catalog_ingest.contracts.provider import Entity
from catalog_ingest.engine.entity_preparation import entity_ref
from catalog_ingest.simulator.app import create_app
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from tests.support.cli_runner import run_ingest
from tests.support.databases import scratch_postgres_database
from tests.support.engine_harness import strip_stamps
from tests.support.namespace_catalog import expected_namespace_catalog
from tests.support.openchoreo_catalog import expected_catalog

FIXTURES = Path(__file__).parent / "fixtures"


def test_check_config_accepts_a_valid_file_with_exit_0() -> None:
    result = run_ingest("check-config", str(FIXTURES / "reference-openchoreo.yaml"))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_check_config_prints_one_line_per_problem_and_exits_2() -> None:
    result = run_ingest("check-config", str(FIXTURES / "invalid.yaml"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 3
    assert any(line.startswith("providers[0].options.burstLength: 301") for line in lines)
    assert "Traceback" not in result.stderr


def test_check_config_accepts_the_official_plugins_block_with_a_warning_line_per_ignored_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "official.yaml"
    path.write_text(
        "openchoreo:\n"
        "  baseUrl: https://oc.example/api/v1\n"
        "  defaultOwner: openchoreo-users\n"
        "  schedule: {frequency: 30, timeout: 120}\n"
        "  incremental: {chunkSize: 500}\n"
    )

    result = run_ingest("check-config", str(path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: valid"
    assert result.stderr.strip().splitlines() == [
        "warning: openchoreo.schedule: {frequency: 30, timeout: 120} - ignored: passes are paced "
        "by openchoreo.incremental (burstLength, burstInterval, restLength)",
        "warning: openchoreo.incremental.chunkSize: 500 - capped at 100 per request with the "
        "namespace-era API (its server clamps limit to 1..100)",
    ]


def test_check_config_prints_one_line_per_bad_synthetic_setting_and_exits_2(
    tmp_path: Path,
) -> None:
    path = tmp_path / "synthetic.yaml"
    path.write_text(
        "providers:\n"
        "  - {name: synth, type: synthetic, settings: {entities: -5, colour: red}}\n"
        "worker: {detailsPerTaks: 3}\n"
    )

    result = run_ingest("check-config", str(path))

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "providers[0].settings.entities: -5 - Input should be greater than or equal to 0",
        "providers[0].settings.colour: 'red' - unknown key; allowed: entities, pageSize, "
        "pageDelayMs, seed, bodyBytes, namespace",
        "worker.detailsPerTaks: 3 - unknown key (did you mean 'detailsPerTask'?); allowed: "
        "brokerUrl, timeLimitMargin, visibilityTimeout, detailTimeLimit, detailsPerTask, "
        "requestSlotLease",
    ]


def test_check_config_reports_a_missing_file_in_one_line() -> None:
    result = run_ingest("check-config", "/nonexistent/config.yaml")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "/nonexistent/config.yaml" in result.stderr


def test_an_unsupported_database_url_is_a_one_line_error() -> None:
    result = run_ingest("status", "--database-url", "mysql://localhost/catalog")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "config: database_url: 'mysql://localhost/catalog' - unsupported database 'mysql': "
        "use postgresql://user@host:5432/db or sqlite:///path.db"
    )


def test_an_unreachable_database_is_reported_without_a_traceback() -> None:
    result = run_ingest("status", "--database-url", "postgresql://postgres@127.0.0.1:1/none")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the database")
    assert "Traceback" not in result.stderr


def test_an_unknown_provider_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    result = run_ingest("trigger", "nope", "--database-url", url)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: unknown provider 'nope'; known providers: (none configured)"
    )


def expected_demo_catalog(dataset: Dataset, api: str) -> dict[str, Entity]:
    """What the demo's provider must store for ``dataset`` in ``api``'s generation."""
    if api == "orgs":
        return expected_catalog(dataset)
    app = create_app(dataset, SimulatorConfig(api="namespaces"))
    with serve_in_thread(app) as url, httpx.Client(base_url=f"{url}/api/v1") as client:
        return expected_namespace_catalog(client)


@pytest.mark.parametrize("api", ["namespaces", "orgs"])
def test_demo_runs_two_passes_from_a_clean_directory_and_export_shows_the_catalog(
    tmp_path: Path, api: DemoApi
) -> None:
    args: tuple[str, ...] = ("--orgs", "3", "--projects", "4", "--components", "10", "--seed", "5")
    args += () if api == "namespaces" else ("--api", api)  # the namespace era is the default
    started = time.monotonic()
    result = run_ingest("demo", *args, "--json", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [p["pass_number"] for p in summary["passes"]] == [1, 2]
    assert (tmp_path / "ingest-demo.db").exists()

    duration = summary["duration_seconds"]
    assert isinstance(duration, float) and 0 < duration < elapsed, (duration, elapsed)
    assert all(p["seconds"] > 0 for p in summary["passes"])
    assert duration >= sum(p["seconds"] for p in summary["passes"]) - 0.002  # both rounded
    progress = result.stderr.splitlines()
    assert progress[0] == (
        f"pass 1: ingesting a simulated OpenChoreo installation ({api} API: 3 {TOP_LEVEL[api]}, "
        "12 projects, 120 components) into sqlite:///ingest-demo.db"
    )
    second = progress.index(f"upstream changed: {summary['mutations']}; starting pass 2")
    for number, burst_lines in ((1, progress[1:second]), (2, progress[second + 1 :])):
        # one line per burst that did not complete the pass
        assert len(burst_lines) == summary["passes"][number - 1]["bursts"] - 1, progress
        for line in burst_lines:
            assert re.fullmatch(rf"pass {number}: \d+ pages, \d+ entities so far", line), line

    # The same seed generates the same upstream and the same changes: the catalog is exact.
    dataset = Dataset(DatasetSpec(orgs=3, projects=4, components=10, seed=5))
    first = expected_demo_catalog(dataset, api)
    assert summary["mutations"] == mutate(dataset, 5)
    expected = expected_demo_catalog(dataset, api)
    assert summary["removed"] == summary["passes"][1]["removed"] == len(set(first) - set(expected))
    assert summary["removed"] > 0
    assert summary["total_entities"] == len(expected)

    exported = run_ingest(
        "export", "--format", "json", "--database-url", "sqlite:///ingest-demo.db", cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    entities = [json.loads(line) for line in exported.stdout.splitlines()]
    by_ref = {
        entity_ref(e["kind"], e["metadata"]["namespace"], e["metadata"]["name"]): strip_stamps(
            e, "demo"
        )
        for e in entities
    }
    assert by_ref == expected
    kinds: dict[str, int] = {}
    for entity in entities:
        kinds[entity["kind"]] = kinds.get(entity["kind"], 0) + 1
    assert kinds == summary["entities_by_kind"]
    assert set(kinds) == {"Domain", "System", "Component", "API"}
    as_yaml = run_ingest("export", "--database-url", "sqlite:///ingest-demo.db", cwd=tmp_path)
    documents = [d for d in yaml.safe_load_all(as_yaml.stdout) if d]
    assert documents == entities


def test_demo_runs_against_postgres_and_status_shows_the_resting_provider(
    tmp_path: Path,
) -> None:
    with scratch_postgres_database("ingest_cli") as url:
        args = ("--orgs", "2", "--projects", "3", "--components", "40", "--database-url", url)
        result = run_ingest("demo", *args)
        assert result.returncode == 0, result.stderr
        catalog_line = next(
            line for line in result.stdout.splitlines() if line.startswith("catalog:")
        )
        assert "Domain: 2" in catalog_line
        status = run_ingest("status", "--json", "--database-url", url)
        assert status.returncode == 0, status.stderr
        [row] = json.loads(status.stdout)
        assert row["provider"] == "demo"
        assert row["current"]["status"] == "resting"
        assert row["current"]["removed"] > 0
        assert "walk" not in row["current"]  # no configured provider describes the cursor

        # Configured as an OpenChoreo provider, it says which API generation its pass spoke.
        config = tmp_path / "ingest.yaml"
        config.write_text(
            "providers: [{name: demo, type: openchoreo, settings: {baseUrl: 'http://x/api/v1'}}]\n"
        )
        described = run_ingest("status", "--json", "--config", str(config), "--database-url", url)
        assert described.returncode == 0, described.stderr
        [row] = json.loads(described.stdout)
        assert row["current"]["walk"]["api"] == "namespaces"
        assert row["current"]["walk"]["walking"].startswith("components of ")
        table = run_ingest("status", "--config", str(config), "--database-url", url)
        assert "api=namespaces" in table.stdout


def test_demo_refuses_a_dataset_too_large_in_one_line(tmp_path: Path) -> None:
    args = ("--orgs", "10000", "--projects", "1000", "--components", "10000")
    result = run_ingest("demo", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: the demo takes at most 2,000,000 components "
        "(orgs x projects x components = 100,000,000,000)"
    )
    assert not (tmp_path / "ingest-demo.db").exists()


def test_run_embedded_ingests_configured_providers_in_one_process_without_redis(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    config = tmp_path / "ingest.yaml"
    config.write_text(
        "database_url: sqlite:///embedded.db\n"
        "redis_url: redis://127.0.0.1:1/0\n"  # unreachable on purpose: nothing may use it
        "providers:\n"
        "  - name: synth\n"
        "    type: synthetic\n"
        "    options: {burst_length: 1, burst_interval: 5}\n"
        "    settings: {entities: 1500, page_size: 100, page_delay_ms: 100}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "run", "--embedded", "--config", str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status: list[dict[str, dict[str, object]]] = []
        while time.monotonic() < deadline:
            result = run_ingest("status", "--json", "--config", str(config), cwd=tmp_path)
            status = json.loads(result.stdout) if result.returncode == 0 else []
            if status and status[0].get("current", {}).get("status") == "resting":
                break
            time.sleep(1)
        assert status and status[0]["current"]["status"] == "resting", status
        assert status[0]["current"]["entities"] == 1500
        assert status[0]["current"]["pages"] == 15
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "synth: pass completed" in output


def test_event_with_a_payload_that_is_not_json_exits_2_with_one_line() -> None:
    result = run_ingest("event", "oc", "--topic", "openchoreo", "--payload", "{kind: component")

    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: --payload is not valid JSON: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_event_on_a_topic_the_provider_does_not_take_exits_2_with_one_line(
    tmp_path: Path,
) -> None:
    config = tmp_path / "ingest.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'c.db'}\n"
        "providers: [{name: synth, type: synthetic, settings: {entities: 10}}]\n"
    )

    result = run_ingest(
        "event", "synth", "--topic", "openchoreo", "--payload", "{}", "--config", str(config)
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: provider synth takes no events on topic 'openchoreo' (none)"
    )


def test_event_direct_applies_the_event_at_once_under_the_providers_lock(
    tmp_path: Path,
) -> None:
    import os

    from tests.support.simulator_harness import running

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/0"
    database = tmp_path / "c.db"
    with running(DatasetSpec(orgs=1, projects=1, components=2, seed=3)) as upstream:
        config = tmp_path / "ingest.yaml"
        config.write_text(
            f"database_url: sqlite:///{database}\n"
            f"redis_url: {redis_url}\n"
            "providers:\n"
            "  - name: oc\n"
            "    type: openchoreo\n"
            f"    settings: {{baseUrl: '{upstream.url}/api/v1', apiGeneration: namespaces}}\n"
        )
        [path] = upstream.dataset.mutate(add=1, seed=1, levels=("component",)).added
        namespace, _, name = path.split("/")
        payload = {"kind": "Component", "name": name, "namespace": namespace, "action": "created"}

        result = run_ingest(
            "event", "oc", "--topic", "openchoreo", "--payload", json.dumps(payload),
            "--direct", "--config", str(config),
        )  # fmt: skip

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "applied"
    assert summary["added"] >= 1
    exported = run_ingest("export", "--format", "json", "--config", str(config))
    refs = {
        entity_ref(e["kind"], e["metadata"]["namespace"], e["metadata"]["name"])
        for e in map(json.loads, exported.stdout.splitlines())
    }
    assert f"component:{namespace}/{name}" in refs
