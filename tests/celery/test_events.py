"""``ingest.event`` on a real worker: OpenChoreo events reach the catalog between passes and
during bursts, with real Redis (the provider lock) and PostgreSQL.

The OpenChoreo simulator (namespace era) runs in this process on a loopback port; the test
changes its dataset directly, as an upstream change would, and sends the event the forwarder
would send.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from catalog_ingest.simulator.spec import DatasetSpec
from models.tables import bursts, source_entities
from tests.support.celery_deployment import Deployment, deployment, wait_for
from tests.support.operator_commands import enqueued_task_id, run_ingest_commands
from tests.support.simulator_harness import Running, running

NAME = "oc"
SPEC = DatasetSpec(orgs=2, projects=2, components=4, seed=6)


def provider(url: str) -> dict[str, Any]:
    return {
        "name": NAME,
        "type": "openchoreo",
        "options": {"burst_length": 1, "burst_interval": 5, "rest_length": 1, "chunk_size": 3},
        "settings": {"baseUrl": f"{url}/api/v1", "apiGeneration": "namespaces", "retries": 1},
    }


@pytest.fixture
def upstream() -> Iterator[Running]:
    with running(SPEC) as sim:
        yield sim


@pytest.fixture
def deployed(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str, upstream: Running
) -> Iterator[Deployment]:
    with deployment(tmp_path, database, database_url, redis_url, [provider(upstream.url)]) as d:
        d.start_worker("w1", concurrency=2)
        yield d


def send_event(deployed: Deployment, payload: dict[str, Any]) -> str:
    result = deployed.app.send_task("ingest.event", args=(NAME, "openchoreo", payload))
    return str(result.id)


def component_payload(path: str, action: str) -> dict[str, Any]:
    namespace, _, name = path.split("/")
    return {"kind": "Component", "name": name, "namespace": namespace, "action": action}


def complete_a_pass(deployed: Deployment, other_than: str | None = None) -> Any:
    """Tick until the provider rests after a pass (another pass than ``other_than``)."""

    def resting_after_a_tick() -> Any:
        deployed.send("ingest.tick", NAME)
        resting = deployed.resting(NAME)
        return resting if resting is not None and resting.id != other_than else None

    return wait_for(resting_after_a_tick, 60, "the pass to complete", every=1.0)


def component_ref(path: str) -> str:
    namespace, _, name = path.split("/")
    return f"component:{namespace}/{name}"


def refs_of_service(deployed: Deployment, path: str) -> set[str]:
    """The component's ref and its APIs' (from its stored ``providesApis``)."""
    ref = component_ref(path)
    with deployed.database.connect() as connection:
        body = connection.execute(
            select(source_entities.c.body).where(source_entities.c.ref == ref)
        ).scalar_one()
    namespace = path.split("/", maxsplit=1)[0]
    return {ref} | {f"api:{namespace}/{api}" for api in body["spec"].get("providesApis", [])}


def test_a_created_component_appears_before_the_next_pass_and_the_next_sweep_keeps_it(
    deployed: Deployment, upstream: Running
) -> None:
    resting = complete_a_pass(deployed)
    [path] = upstream.dataset.mutate(add=1, seed=4, levels=("component",)).added

    send_event(deployed, component_payload(path, "created"))

    wait_for(lambda: component_ref(path) in deployed.catalog_refs(), 30, "the created component")
    assert deployed.resting(NAME).id == resting.id  # no pass ran meanwhile
    deployed.send("ingest.start", NAME)  # end the rest: the next pass sweeps
    complete_a_pass(deployed, other_than=resting.id)
    assert component_ref(path) in deployed.catalog_refs()


def test_a_deleted_component_disappears_with_its_apis_on_the_event_the_command_enqueues(
    deployed: Deployment, upstream: Running
) -> None:
    complete_a_pass(deployed)
    path = next(
        p for p in upstream.dataset.paths("component") if len(refs_of_service(deployed, p)) > 1
    )
    doomed = refs_of_service(deployed, path)
    upstream.dataset.remove(path)
    payload = json.dumps(component_payload(path, "deleted"))

    [result] = run_ingest_commands(
        deployed, ("event", NAME, "--topic", "openchoreo", "--payload", payload)
    )

    enqueued_task_id(result, "ingest.event", NAME)
    wait_for(lambda: not doomed & deployed.catalog_refs(), 30, "the deleted component to go")


def test_an_event_sent_while_a_burst_runs_is_applied_after_it(
    deployed: Deployment, upstream: Running
) -> None:
    upstream.set_faults(latency_ms=250)  # a burst holds the lock for a second or more
    burst_task = deployed.send("ingest.burst", NAME)
    running_burst = wait_for(lambda: _running_burst(deployed), 30, "a burst to start")
    [path] = upstream.dataset.mutate(add=1, seed=7, levels=("component",)).added

    event_task = send_event(deployed, component_payload(path, "created"))

    wait_for(lambda: component_ref(path) in deployed.catalog_refs(), 60, "the event's component")
    ended = _burst(deployed, running_burst.id)
    assert ended.ended_at is not None
    assert ended.outcome != "fenced"  # the event waited for the lock: it fenced nobody out
    log = wait_for(lambda: _applied_in(deployed), 30, "the event's log line")
    received = log.index(f"ingest.event[{event_task}] received")
    burst_done = log.index(f"ingest.burst[{burst_task}] succeeded")
    assert received < burst_done < log.index("event applied", received)


def _applied_in(deployed: Deployment) -> str | None:
    text = deployed.workers[0].log_path.read_text(errors="replace")
    return text if "event applied" in text else None


def _running_burst(deployed: Deployment) -> Any:
    rows = [row for row in deployed.burst_rows(NAME) if row.ended_at is None]
    return rows[0] if rows else None


def _burst(deployed: Deployment, burst_id: int) -> Any:
    with deployed.database.connect() as connection:
        return connection.execute(select(bursts).where(bursts.c.id == burst_id)).one()
