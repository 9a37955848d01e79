"""``GET /metrics`` on a real uvicorn server, on PostgreSQL and SQLite: parsed with
prometheus-client's parser, its figures are those ``ingest status --json`` prints for the same
database (run as a user runs it); open or behind the ``read`` scope; the same from every
replica. The Grafana dashboard queries only what it serves, or Flower's metrics."""

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.engine import admin_operations
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.service.context import ServiceContext, build_context
from models.tables import bursts
from tests.support.cli_runner import run_ingest
from tests.support.http_service import (
    API_SECTION,
    EVENTS_TOKEN,
    READ_TOKEN,
    WRONG_TOKEN,
    bearer,
    envelope_of,
    free_port,
    running_service,
)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
SYNTH = "synth"
DOWN = "down"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def synthetic(entities: int, **options: Any) -> dict[str, Any]:
    return {
        "name": SYNTH,
        "type": "synthetic",
        "options": {"burst_length": 60, "burst_interval": 5, "rest_length": 60, **options},
        "settings": {"entities": entities, "page_size": 100, "seed": 5},
    }


def unreachable() -> dict[str, Any]:
    """An OpenChoreo provider whose upstream refuses connections: its bursts back off."""
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    settings = {"baseUrl": url, "apiGeneration": "namespaces", "retries": 0}
    return {"name": DOWN, "type": "openchoreo", "settings": settings}


def write_config(path: Path, database_url: str, providers: list[Any], **api: Any) -> Path:
    document = {
        "database_url": database_url,
        "providers": providers,
        "api": {**API_SECTION, "actions": "direct", **api},
    }
    path.write_text(yaml.safe_dump(document))
    return path


def context_for(path: Path) -> ServiceContext:
    return build_context(load_config(path, environ={}))


@pytest.fixture
def quiet(tmp_path: Path, service_database_url: str) -> Iterator[ServiceContext]:
    """A service whose providers never ran."""
    path = write_config(tmp_path / "ingest.yaml", service_database_url, [synthetic(300)])
    context = context_for(path)
    yield context
    context.close()


def tick_until(context: ServiceContext, provider: str, action: TickAction) -> None:
    for _ in range(4):
        if context.runtime.engine.tick(provider).action is action:
            return
    raise AssertionError(f"{provider} never reached {action}")


def scrape(url: str, token: str | None = None) -> httpx.Response:
    return httpx.get(f"{url}/metrics", headers=bearer(token) if token else {}, timeout=30)


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(figures: Samples, name: str, **labels: str) -> float:
    return figures[(f"catalog_ingest_{name}", frozenset(labels.items()))]


def status_json(path: Path, database_url: str) -> dict[str, Any]:
    result = run_ingest("status", "--json", "--config", str(path), "--database-url", database_url)
    assert result.returncode == 0, result.stderr
    return {row["provider"]: row for row in json.loads(result.stdout)}


def newest_completed(row: dict[str, Any]) -> dict[str, Any]:
    """The newest pass that completed its sweep: the resting one, or the last closed one."""
    passes = [p for p in (row.get("current"), row.get("last_completed")) if p]
    done = [p for p in passes if p["ingestion_completed_at"]]
    return max(done, key=lambda p: p["ingestion_completed_at"])


def test_metrics_match_ingest_status_for_the_same_database(
    tmp_path: Path, service_database_url: str
) -> None:
    first = write_config(tmp_path / "first.yaml", service_database_url, [synthetic(300)])
    context = context_for(first)
    tick_until(context, SYNTH, TickAction.PASS_COMPLETED)
    context.close()
    # Upstream shrinks to a third: the guard refuses the next pass's sweep.
    providers = [synthetic(100, reject_removals_above_percentage=10), unreachable()]
    path = write_config(tmp_path / "ingest.yaml", service_database_url, providers)
    context = context_for(path)
    try:
        engine = context.runtime.engine
        admin_operations.start(context.runtime.repository, SYNTH, engine.clock.now())
        tick_until(context, SYNTH, TickAction.PASS_COMPLETED)
        tick_until(context, DOWN, TickAction.BACKED_OFF)
        with running_service(context) as url:
            response = scrape(url)
        burst_rows = _burst_times(context)
    finally:
        context.close()
    rows = status_json(path, service_database_url)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    figures = samples(response.text)
    for provider in (SYNTH, DOWN):
        _check_current(figures, provider, rows[provider]["current"])
        started, ended, outcome = burst_rows[provider]
        assert value(figures, "burst_last_start_timestamp_seconds", provider=provider) == (
            pytest.approx(started.timestamp())
        )
        at = value(figures, "burst_last_end_timestamp_seconds", provider=provider, outcome=outcome)
        assert at == pytest.approx(ended.timestamp())
    _check_completed(figures, SYNTH, newest_completed(rows[SYNTH]))
    # The scenario covers what it claims: a refused sweep, a backoff.
    assert value(figures, "last_pass_sweep_refused", provider=SYNTH) == 1
    assert rows[SYNTH]["current"]["last_error"].startswith("removal refused")
    assert value(figures, "provider_status", provider=DOWN, status="backing off") == 1
    assert value(figures, "backoff_attempts", provider=DOWN) == 1
    assert not any(
        name.startswith("catalog_ingest_last_pass") and ("provider", DOWN) in labels
        for name, labels in figures
    )  # no completed pass of its own


def _check_current(figures: Samples, provider: str, current: dict[str, Any]) -> None:
    statuses = {
        dict(labels)["status"]: v
        for (name, labels), v in figures.items()
        if name == "catalog_ingest_provider_status" and ("provider", provider) in labels
    }
    assert statuses == {
        status: float(status == current["status"])
        for status in ("bursting", "interstitial", "resting", "backing off", "paused")
    }
    phases = {
        dict(labels)["phase"]: v
        for (name, labels), v in figures.items()
        if name == "catalog_ingest_pass_phase" and ("provider", provider) in labels
    }
    assert phases == {
        phase: float(phase == current["phase"])
        for phase in ("listing", "awaiting details", "sweeping", "done")
    }
    assert value(figures, "pass_pages", provider=provider) == current["pages"]
    assert value(figures, "pass_entities", provider=provider) == current["entities"]
    assert value(figures, "pass_pending_pages", provider=provider) == current["pending_pages"]
    assert value(figures, "pass_fallbacks", provider=provider) == current["fallbacks"]
    assert value(figures, "backoff_attempts", provider=provider) == current["attempts"]


def _check_completed(figures: Samples, provider: str, done: dict[str, Any]) -> None:
    created = datetime.fromisoformat(done["created_at"])
    completed = datetime.fromisoformat(done["ingestion_completed_at"])
    duration = value(figures, "last_pass_duration_seconds", provider=provider)
    assert duration == pytest.approx((completed - created).total_seconds())
    end = value(figures, "last_pass_end_timestamp_seconds", provider=provider)
    assert end == pytest.approx(completed.timestamp())
    assert value(figures, "last_pass_entities", provider=provider) == done["entities"] == 100
    assert value(figures, "last_pass_removed_entities", provider=provider) == done["removed"]
    refused = value(figures, "last_pass_sweep_refused", provider=provider)
    assert refused == float((done["last_error"] or "").startswith("removal refused"))


def _burst_times(context: ServiceContext) -> dict[str, tuple[datetime, datetime, str]]:
    """Per provider: the newest burst start, the newest end and its outcome (the table)."""
    times = {}
    with context.runtime.database.connect() as connection:
        for provider in (SYNTH, DOWN):
            where = bursts.c.provider_name == provider
            started = connection.execute(select(func.max(bursts.c.started_at)).where(where))
            ended = connection.execute(
                select(bursts.c.ended_at, bursts.c.outcome)
                .where(where, bursts.c.ended_at.is_not(None))
                .order_by(bursts.c.ended_at.desc())
                .limit(1)
            ).one()
            times[provider] = (started.scalar_one(), ended.ended_at, ended.outcome)
    return times


def test_metrics_are_open_by_default_and_every_replica_reports_the_same(
    quiet: ServiceContext,
) -> None:
    tick_until(quiet, SYNTH, TickAction.PASS_COMPLETED)
    replica = build_context(quiet.config)
    try:
        with running_service(quiet) as one, running_service(replica) as two:
            first, second = scrape(one), scrape(two)
    finally:
        replica.close()
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert value(samples(first.text), "provider_status", provider=SYNTH, status="resting") == 1


def test_closed_metrics_need_the_read_scope(tmp_path: Path, service_database_url: str) -> None:
    path = write_config(
        tmp_path / "ingest.yaml", service_database_url, [synthetic(300)], open_metrics=False
    )
    context = context_for(path)
    try:
        with running_service(context) as url:
            missing, wrong = scrape(url), scrape(url, WRONG_TOKEN)
            scopeless, allowed = scrape(url, EVENTS_TOKEN), scrape(url, READ_TOKEN)
    finally:
        context.close()
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert envelope_of(missing)["error"]["name"] == "AuthenticationError"
    assert WRONG_TOKEN not in wrong.text
    assert scopeless.status_code == 403
    assert "'read' scope" in envelope_of(scopeless)["error"]["message"]
    assert allowed.status_code == 200
    assert value(samples(allowed.text), "provider_status", provider=SYNTH, status="paused") == 0


def test_the_dashboard_queries_only_our_metrics_and_flowers(quiet: ServiceContext) -> None:
    tick_until(quiet, SYNTH, TickAction.PASS_COMPLETED)
    with running_service(quiet) as url:
        served = {name for name, _ in samples(scrape(url).text)}
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ] + [
        variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    ]
    assert len(queries) >= 10
    used = {name for query in queries for name in metric_names(query)}
    ours = {name for name in used if name.startswith("catalog_ingest_")}
    assert ours <= served, ours - served
    assert used - ours <= flower_metric_names(), used - ours - flower_metric_names()
    assert used & flower_metric_names()  # task rates and failures come from Flower


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query reads: identifiers outside label matchers, ranges and
    groupings, not called as functions."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without)\s*\([^)]*\)|\"[^\"]*\"", " ", query)
    return {
        match.group(1)
        for match in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", bare)
        if "_" in match.group(1) and not match.group(1).startswith("$")
    }


def flower_metric_names() -> set[str]:
    """Every sample name Flower 2.x's ``/metrics`` can serve, read from Flower itself."""
    from flower.events import get_prometheus_metrics

    names = set()
    for metric in vars(get_prometheus_metrics()).values():
        for family in metric.collect():
            kind = family.type
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names |= {family.name + suffix for suffix in suffixes.get(kind, [""])}
    return names
