"""Detail fan-out on real workers: child tasks under a global bound, crash recovery, fallbacks,
backpressure. Worker processes, Redis and PostgreSQL are real; the upstream is the simulator,
served from this process on loopback."""

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from models.tables import marks
from tests.support.celery_deployment import Deployment, deployment, wait_for
from tests.support.cli_runner import run_ingest
from tests.support.openchoreo_catalog import OWNER, expected_catalog, stored_catalog
from tests.support.operator_commands import (
    FLOWER_AUTH,
    FLOWER_AUTH_ENV,
    FlowerProcess,
    wait_for_live_events,
)
from tests.support.simulator_harness import Running, running

T = TypeVar("T")
PROVIDER = "oc"
SHORT_LIMITS = {"INGEST_TIME_LIMIT_MARGIN": "2"}
"""Lock TTL = burst_length + 3 x margin: a killed worker's lock expires within seconds."""


def provider_config(url: str, **options: Any) -> dict[str, Any]:
    return {
        "name": PROVIDER,
        "type": "openchoreo",
        "settings": {
            "base_url": f"{url}/api/v1",
            "api_generation": "orgs",  # the detail fan-out serves organization-era services
            "default_owner": OWNER,
            "retries": 1,
            "max_retry_delay_seconds": 0.05,
            "timeout_seconds": 10,
        },
        "options": {
            "burst_length": 5,
            "burst_interval": 5,
            "rest_length": 1,
            "chunk_size": 10,
            "batch_delay_ms": 0,
        }
        | options,
    }


@contextmanager
def fan_out_deployment(
    tmp_path: Path,
    database: Engine,
    database_url: str,
    redis_url: str,
    spec: DatasetSpec,
    faults: FaultSettings,
    **options: Any,
) -> Iterator[tuple[Deployment, Running]]:
    with (
        running(spec, SimulatorConfig(faults=faults)) as upstream,
        deployment(
            tmp_path, database, database_url, redis_url, [provider_config(upstream.url, **options)]
        ) as deployed,
    ):
        yield deployed, upstream


def ticking_until(
    deployed: Deployment,
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    on_poll: Callable[[], None] = lambda: None,
) -> T:
    """Send ``ingest.tick`` every second, as beat would, until ``check`` holds."""
    last = [0.0]

    def ticked() -> T | None:
        on_poll()
        if time.monotonic() - last[0] >= 1.0:
            deployed.send("ingest.tick", PROVIDER)
            last[0] = time.monotonic()
        return check()

    return wait_for(ticked, timeout, what, every=0.05)


def pending_pages(database: Engine, ingestion_id: str | None = None) -> int:
    statement = select(func.count()).where(marks.c.deferred > 0, marks.c.finalized_at.is_(None))
    if ingestion_id is not None:
        statement = statement.where(marks.c.ingestion_id == ingestion_id)
    with database.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def assert_exact_pass(deployed: Deployment, upstream: Running, done: Any) -> None:
    expected = expected_catalog(upstream.dataset)
    assert stored_catalog(deployed.database, PROVIDER) == expected
    assert done.entities == len(expected)
    assert done.duplicates == 0  # a page committed twice would show its refs as duplicates
    assert pending_pages(deployed.database, done.id) == 0
    assert deployed.sequences(done.id) == list(range(1, done.pages + 1))


def test_two_workers_never_exceed_the_global_bound_and_the_pass_is_exact(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    spec = DatasetSpec(orgs=2, projects=3, components=12, seed=3, service_share=0.9)
    faults = FaultSettings(detail_latency_ms=80)
    with fan_out_deployment(
        tmp_path, database, database_url, redis_url, spec, faults, max_concurrent_requests=3
    ) as (deployed, upstream):
        deployed.start_worker("w1", concurrency=4)
        deployed.start_worker("w2", concurrency=4)
        done = ticking_until(
            deployed, lambda: deployed.resting(PROVIDER), 180, "the pass to complete"
        )
        stats = upstream.stats()
        assert_exact_pass(deployed, upstream, done)

    services = sum(1 for path in upstream.dataset.paths("component") if _is_service(upstream, path))
    assert stats["by_endpoint"]["detail"] == services > 30
    assert stats["max_in_flight_by_endpoint"]["detail"] == 3
    logs = "".join(w.log_path.read_text(errors="replace") for w in deployed.workers)
    assert "Task ingest.detail[" in logs


def _is_service(upstream: Running, path: str) -> bool:
    org, project, component = path.split("/")
    detail = upstream.dataset.component_detail(org, project, component)
    return "service" in str(detail["type"]).lower()


def test_a_worker_killed_with_children_in_flight_the_pass_still_completes_exactly(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    spec = DatasetSpec(orgs=2, projects=2, components=12, seed=8, service_share=0.9)
    faults = FaultSettings(detail_latency_ms=400)
    with fan_out_deployment(
        tmp_path,
        database,
        database_url,
        redis_url,
        spec,
        faults,
        max_concurrent_requests=4,
        pending_page_timeout=5,
    ) as (deployed, upstream):
        victim = deployed.start_worker("victim", concurrency=4, **SHORT_LIMITS)
        ticking_until(
            deployed,
            lambda: (upstream.stats()["in_flight"] >= 2 and pending_pages(database) > 0) or None,
            60,
            "detail calls in flight",
        )
        victim.kill()
        deployed.start_worker("survivor", concurrency=4, **SHORT_LIMITS)
        done = ticking_until(
            deployed, lambda: deployed.resting(PROVIDER), 180, "the survivor to finish the pass"
        )
        assert_exact_pass(deployed, upstream, done)
        survivor_log = deployed.workers[1].log_path.read_text(errors="replace")
    assert "dispatching them again" in survivor_log


def test_persistent_detail_failures_fall_back_to_the_listing_and_are_counted(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    spec = DatasetSpec(orgs=2, projects=2, components=8, seed=5, service_share=0.8)
    with running(spec) as probe:
        services = [p for p in probe.dataset.paths("component") if _is_service(probe, p)]
    failing = services[:3]
    faults = FaultSettings(fail_components=failing)
    with fan_out_deployment(
        tmp_path, database, database_url, redis_url, spec, faults, max_concurrent_requests=4
    ) as (deployed, upstream):
        deployed.start_worker("w1", concurrency=4)
        done = ticking_until(
            deployed, lambda: deployed.resting(PROVIDER), 120, "the pass to complete"
        )
        catalog = stored_catalog(database, PROVIDER)
        expected = expected_catalog(upstream.dataset)
        log = deployed.workers[0].log_path.read_text(errors="replace")
        status = run_ingest("status", "--json", "--config", str(deployed.config_path))

    assert done.fallbacks == 3
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)
    assert (row["current"]["fallbacks"], row["current"]["pending_pages"]) == (3, 0)
    lost: set[str] = set()
    for path in failing:
        ref = f"component:default/{path.rsplit('/', 1)[1]}"
        assert "providesApis" in expected[ref]["spec"]
        assert "providesApis" not in catalog[ref]["spec"]
        assert "backstage.io/source-location" not in catalog[ref]["metadata"]["annotations"]
        lost |= {f"api:default/{api}" for api in expected[ref]["spec"]["providesApis"]}
        assert path in log  # logged with the component and the reason
    assert set(catalog) == set(expected) - lost
    unaffected = (
        set(expected) - lost - {f"component:default/{p.rsplit('/', 1)[1]}" for p in failing}
    )
    assert {ref: catalog[ref] for ref in unaffected} == {ref: expected[ref] for ref in unaffected}
    assert "HTTP 503" in log


def test_pending_pages_never_exceed_the_backpressure_limit(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    spec = DatasetSpec(orgs=2, projects=3, components=10, seed=2, service_share=1.0)
    faults = FaultSettings(detail_latency_ms=150)
    with fan_out_deployment(
        tmp_path,
        database,
        database_url,
        redis_url,
        spec,
        faults,
        max_concurrent_requests=2,
        max_pending_pages=2,
        chunk_size=5,
    ) as (deployed, upstream):
        deployed.start_worker("w1", concurrency=4)
        observed: list[int] = []
        done = ticking_until(
            deployed,
            lambda: deployed.resting(PROVIDER),
            180,
            "the pass to complete",
            on_poll=lambda: observed.append(pending_pages(database)),
        )
        assert_exact_pass(deployed, upstream, done)
    assert max(observed) == 2
    assert len(observed) > 50


def test_flower_lists_detail_tasks_with_provider_organization_project_and_components(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    spec = DatasetSpec(orgs=1, projects=2, components=6, seed=4, service_share=1.0)
    with fan_out_deployment(tmp_path, database, database_url, redis_url, spec, FaultSettings()) as (
        deployed,
        upstream,
    ):
        deployed.start_worker("w1", concurrency=2)
        flower = FlowerProcess.start(deployed, deployed.env(**{FLOWER_AUTH_ENV: FLOWER_AUTH}))
        try:
            flower.wait_until_answering()
            wait_for_live_events(deployed, flower)
            ticking_until(deployed, lambda: deployed.resting(PROVIDER), 120, "the pass")

            def details_listed() -> list[dict[str, Any]] | None:
                listed = [t for t in flower.tasks().values() if t["name"] == "ingest.detail"]
                done = [t for t in listed if t["state"] == "SUCCESS"]
                return done if len(done) == len(listed) >= 2 else None

            details = wait_for(details_listed, 30, "flower to list the detail tasks")
        finally:
            flower.stop()
    org = upstream.dataset.orgs()[0]["name"]
    components: set[str] = set()
    for task in details:
        assert f"'{PROVIDER}'" in task["args"]
        assert f"'organization': '{org}'" in task["kwargs"]
        assert "'project': " in task["kwargs"]
        components |= set(re.findall(r"comp-[\w-]+", task["kwargs"]))
    assert components == {path.rsplit("/", 1)[1] for path in upstream.dataset.paths("component")}
