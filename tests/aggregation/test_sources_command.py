"""``ingest sources``: every configured provider and source with its schedule and state."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog_ingest.app.composition import build_runtime
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.engine.outcome import TickAction
from tests.aggregation.source_files import component, write_yaml
from tests.support.cli_runner import run_ingest


@pytest.fixture
def config(db: sa.Engine, tmp_path: Path) -> Path:
    files = tmp_path / "catalog"
    write_yaml(files / "a.yaml", component("a1"), component("a2"))
    path = tmp_path / "ingest.yaml"
    path.write_text(
        f"database_url: {db.url.render_as_string(hide_password=False)}\n"
        "providers:\n"
        "  - {name: synth, type: synthetic, priority: 1, settings: {entities: 3}}\n"
        "sources:\n"
        f"  - {{name: files, type: file, priority: 7, schedule: 2h, ttlSeconds: 86400,\n"
        f"      settings: {{paths: ['{files}/*.yaml']}}}}\n"
        "  - {name: remote, type: url, schedule: 90,\n"
        "      settings: {urls: ['http://127.0.0.1:1/x.yaml?token=very-secret-token']}}\n"
        "  - {name: pushed, type: push}\n"
    )
    return path


def refresh(config: Path) -> None:
    """A completed refresh of ``files`` and a failed one of ``remote``, in this process."""
    runtime = build_runtime(load_config(config, environ={}))
    try:
        engine = runtime.engine
        while engine.tick("files").action is not TickAction.PASS_COMPLETED:
            pass
        assert engine.tick("remote").action is TickAction.BACKED_OFF
    finally:
        runtime.close()


def test_sources_lists_providers_and_sources_with_their_state(config: Path) -> None:
    refresh(config)

    result = run_ingest("sources", "--json", "--config", str(config))

    assert result.returncode == 0, result.stderr
    rows = {row.pop("name"): row for row in json.loads(result.stdout)}
    assert list(rows) == ["synth", "files", "remote", "pushed"]
    assert rows["synth"] | {"last_refresh": None} == {
        "kind": "provider",
        "type": "synthetic",
        "priority": 1,
        "schedule_seconds": 1800.0,
        "ttl_seconds": None,
        "last_refresh": None,
        "records": 0,
        "last_error": None,
    }
    files = rows["files"]
    assert (files["kind"], files["type"], files["priority"]) == ("source", "file", 7)
    assert (files["schedule_seconds"], files["ttl_seconds"], files["records"]) == (7200, 86400, 2)
    assert files["last_refresh"] is not None and files["last_error"] is None
    remote = rows["remote"]
    assert remote["last_refresh"] is None and remote["records"] == 0
    assert remote["last_error"] == (
        "DocumentFetchError: GET http://127.0.0.1:1/x.yaml: ConnectError"
    )
    assert (rows["pushed"]["type"], rows["pushed"]["schedule_seconds"]) == ("push", None)
    assert "very-secret-token" not in result.stdout


def test_the_table_shows_one_line_per_source(config: Path) -> None:
    refresh(config)

    result = run_ingest("sources", "--config", str(config))

    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert " 2h " in lines["files"] and " 1d " in lines["files"] and " 2 " in lines["files"]
    assert " push " in lines["pushed"]
    assert "ConnectError" in lines["remote"]


def test_refresh_ends_a_sources_rest_and_refuses_a_push_source(config: Path) -> None:
    refresh(config)
    result = run_ingest("refresh", "files", "--direct", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "files: next action 'rest' is due now"
    runtime = build_runtime(load_config(config, environ={}))
    try:
        assert runtime.engine.tick("files").action is TickAction.REST_COMPLETED
    finally:
        runtime.close()

    refused = run_ingest("refresh", "pushed", "--direct", "--config", str(config))
    assert refused.returncode == 2
    assert "pushed is a push source: it has no refreshes" in refused.stderr
