"""OpenChoreo events (topic ``openchoreo``) against the simulator, applied by the real engine.

Both API generations, from the same dataset: in the namespace era an organization is a
namespace; in the organization era the event's ``namespace`` names the organization. An
event's entities must be exactly what the walk makes of the same upstream state.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from catalog_ingest.contracts.errors import InvalidEventError
from catalog_ingest.contracts.provider import (
    Entity,
)
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.event_deltas import EventOutcome, EventStatus
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.simulator.spec import DatasetSpec
from models.sql_repository import SqlRepository
from tests.support.backstage_model import problems
from tests.support.engine_harness import PROVIDER, build_engine, complete_pass, run_until
from tests.support.openchoreo_catalog import (
    OnePagePerBurst,
    expected_catalog,
    provider_for,
    stored_catalog,
)
from tests.support.simulator_harness import Running, running

SPEC = DatasetSpec(orgs=2, projects=3, components=6, seed=8)
TOPIC = "openchoreo"
GENERATIONS = ("namespaces", "orgs")


@pytest.fixture
def upstream() -> Iterator[Running]:
    with running(SPEC) as sim:
        yield sim


@pytest.fixture(params=GENERATIONS)
def generation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(
    repository: SqlRepository, clock: ManualClock, upstream: Running, generation: str
) -> Engine:
    provider = provider_for(upstream.url, api_generation=generation)
    return build_engine(repository, clock, OnePagePerBurst(provider, clock))


def deliver(engine: Engine, payload: dict[str, Any]) -> EventOutcome:
    return engine.apply_event(PROVIDER, TOPIC, payload)


def component_event(path: str, action: str, *, with_project: bool = True) -> dict[str, Any]:
    org, project, name = path.split("/")
    payload = {"kind": "Component", "name": name, "namespace": org, "action": action}
    return payload | ({"project": project} if with_project else {})


def component_refs(catalog: Mapping[str, Entity], generation: str, path: str) -> set[str]:
    """The component's ref and those of the APIs it provides."""
    org, _, name = path.split("/")
    namespace = org if generation == "namespaces" else "default"
    ref = f"component:{namespace}/{name}"
    apis = catalog[ref]["spec"].get("providesApis", [])
    return {ref} | {f"api:{namespace}/{api}" for api in apis}


def a_service(upstream: Running, catalog: Mapping[str, Entity], generation: str) -> str:
    """The upstream path of a component that provides APIs."""
    for path in upstream.dataset.paths("component"):
        if len(component_refs(catalog, generation, path)) > 1:
            return path
    raise AssertionError("the dataset has no service with endpoints")


def snapshot(repository: SqlRepository, refs: set[str]) -> dict[str, Entity]:
    stored = stored_catalog(repository.engine)
    return {ref: stored[ref] for ref in refs if ref in stored}


def test_a_component_created_mid_pass_appears_on_its_event_as_the_walk_makes_it_and_is_kept(
    engine: Engine,
    repository: SqlRepository,
    clock: ManualClock,
    upstream: Running,
    generation: str,
) -> None:
    run_until(engine, clock, TickAction.BURST)  # the pass is open, not complete
    new = upstream.dataset.mutate(add=3, seed=5, levels=("component",)).added
    assert new

    outcomes = [deliver(engine, component_event(path, "created")) for path in new]

    after_events = stored_catalog(repository.engine)
    refs = set().union(*(component_refs(after_events, generation, path) for path in new))
    assert [o.status for o in outcomes] == [EventStatus.APPLIED] * len(new)
    assert sum(o.added for o in outcomes) == len(refs)
    for ref in refs:
        assert problems(after_events[ref]) == [], ref
    assert complete_pass(engine, clock).removed == 0
    assert snapshot(repository, refs) == {ref: after_events[ref] for ref in refs}
    if generation == "orgs":
        assert stored_catalog(repository.engine) == expected_catalog(upstream.dataset)


def test_a_component_deleted_upstream_leaves_with_its_apis_on_its_event(
    engine: Engine,
    repository: SqlRepository,
    clock: ManualClock,
    upstream: Running,
    generation: str,
) -> None:
    complete_pass(engine, clock)
    before = stored_catalog(repository.engine)
    path = a_service(upstream, before, generation)
    doomed = component_refs(before, generation, path)
    upstream.dataset.remove(path)

    outcome = deliver(engine, component_event(path, "deleted"))

    assert (outcome.added, outcome.removed) == (0, len(doomed))
    assert set(stored_catalog(repository.engine)) == set(before) - doomed
    assert complete_pass(engine, clock).removed == 0


def test_a_deleted_event_for_a_component_that_still_exists_refreshes_it_instead(
    engine: Engine,
    repository: SqlRepository,
    clock: ManualClock,
    upstream: Running,
    generation: str,
) -> None:
    """Deliveries can come late: upstream's current state wins over the event's action."""
    complete_pass(engine, clock)
    before = stored_catalog(repository.engine)
    path = a_service(upstream, before, generation)

    outcome = deliver(engine, component_event(path, "deleted"))

    assert outcome.removed == 0
    assert stored_catalog(repository.engine) == before


def test_changed_projects_and_namespaces_are_refreshed_and_a_deleted_project_removed(
    engine: Engine,
    repository: SqlRepository,
    clock: ManualClock,
    upstream: Running,
    generation: str,
) -> None:
    complete_pass(engine, clock)
    changed = upstream.dataset.mutate(change=4, seed=3, levels=("org", "project")).changed
    assert changed

    for path in changed:
        parts = path.split("/")
        kind, name = ("Namespace", parts[0]) if len(parts) == 1 else ("Project", parts[1])
        deliver(engine, {"kind": kind, "name": name, "namespace": parts[0], "action": "updated"})
    org, project = next(iter(upstream.dataset.paths("project"))).split("/")
    upstream.dataset.remove(f"{org}/{project}")
    gone = deliver(
        engine, {"kind": "project", "name": project, "namespace": org, "action": "deleted"}
    )

    assert gone.removed == 1
    after_events = stored_catalog(repository.engine)
    complete_pass(engine, clock)  # what the walk makes of the same upstream state
    walked = stored_catalog(repository.engine)
    tops = {ref for ref in walked if ref.split(":")[0] in ("domain", "system")}
    assert {ref: after_events[ref] for ref in tops} == {ref: walked[ref] for ref in tops}
    assert not any(ref.startswith("system:") and ref.endswith(f"/{project}") for ref in walked)


def test_without_its_project_an_org_era_component_is_looked_for_in_each_project(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    engine = build_engine(repository, clock, provider_for(upstream.url))
    complete_pass(engine, clock)
    [path] = upstream.dataset.mutate(add=1, seed=2, levels=("component",)).added

    outcome = deliver(engine, component_event(path, "created", with_project=False))

    assert outcome.added >= 1
    assert stored_catalog(repository.engine) == expected_catalog(upstream.dataset)


def test_a_workload_event_refreshes_its_component_and_a_deleted_one_its_guessed_owner(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    provider = provider_for(upstream.url, api_generation="namespaces")
    engine = build_engine(repository, clock, provider)
    complete_pass(engine, clock)
    before = stored_catalog(repository.engine)
    path = a_service(upstream, before, "namespaces")
    org, _, name = path.split("/")
    refs = component_refs(before, "namespaces", path)
    workload = {"kind": "Workload", "name": f"{name}-workload", "namespace": org}

    updated = deliver(engine, workload | {"action": "updated"})
    upstream.dataset.remove(path)
    deleted = deliver(engine, workload | {"action": "deleted"})

    assert (updated.added, updated.removed) == (len(refs), 0)
    assert (deleted.added, deleted.removed) == (0, len(refs))
    assert set(stored_catalog(repository.engine)) == set(before) - refs


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "Environment", "name": "dev", "namespace": "acme", "action": "created"},
        {"kind": "Component", "name": "web", "namespace": "acme", "action": "restarted"},
    ],
)
def test_other_kinds_and_actions_are_ignored_without_a_request(
    engine: Engine, upstream: Running, payload: dict[str, Any]
) -> None:
    outcome = deliver(engine, payload)

    assert outcome.status is EventStatus.IGNORED
    assert upstream.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "Component", "namespace": "acme", "action": "created"}, "name: Field required"),
        ({"kind": 3, "name": "web", "namespace": "acme", "action": "x"}, "kind"),
    ],
)
def test_a_malformed_payload_is_an_invalid_event_naming_the_field(
    engine: Engine, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message):
        deliver(engine, payload)


def test_an_org_era_component_event_without_its_organization_is_invalid(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    engine = build_engine(repository, clock, provider_for(upstream.url))
    payload = {"kind": "Component", "name": "web", "action": "created"}

    with pytest.raises(InvalidEventError, match="needs 'namespace'"):
        deliver(engine, payload)
