"""The OpenChoreo provider under the real engine, against the simulator over loopback HTTP."""

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import orjson
import pytest

from catalog_ingest.contracts.provider import BurstInfo, JSONValue
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.providers.openchoreo.walk import WalkCursor
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from models.sql_repository import SqlRepository
from tests.support.backstage_model import problems
from tests.support.engine_harness import (
    PROVIDER,
    build_engine,
    complete_pass,
    options,
    read_marks,
    run_until,
)
from tests.support.log_capture import captured_events
from tests.support.openchoreo_catalog import (
    OnePagePerBurst,
    expected_catalog,
    provider_for,
    stored_catalog,
)
from tests.support.simulator_harness import Running, running

SPEC = DatasetSpec(orgs=3, projects=3, components=8, seed=4, hidden_every=7)
TOKEN = "sim-token-5f2b9c"


def serve(spec: DatasetSpec) -> AbstractContextManager[Running]:
    return running(spec, SimulatorConfig(token=TOKEN), {"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def upstream() -> Iterator[Running]:
    with serve(SPEC) as sim:
        yield sim


def test_a_pass_yields_exactly_the_expected_entities_each_valid_for_backstage(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    provider = provider_for(upstream.url, token=TOKEN)
    engine = build_engine(repository, clock, OnePagePerBurst(provider, clock))

    outcome = complete_pass(engine, clock)

    expected = expected_catalog(upstream.dataset)
    catalog = stored_catalog(repository.engine)
    assert catalog == expected
    kinds = {entity["kind"] for entity in catalog.values()}
    assert kinds == {"Domain", "System", "Component", "API"}
    for entity in catalog.values():
        assert problems(entity) == [], entity["metadata"]["name"]
    assert outcome.duplicates == 0
    marks = read_marks(repository.engine, outcome.ingestion_id or "")
    assert len(marks) > 10
    for _sequence, cursor in marks[:-1]:
        WalkCursor.load(cursor)  # every stored cursor resumes
        assert len(orjson.dumps(cursor)) < 2048
    stats = upstream.stats()
    assert stats["by_endpoint"]["detail"] == sum(
        1 for e in expected.values() if e["kind"] == "Component" and e["spec"]["type"] == "service"
    )


def test_pages_come_in_dependency_order(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    provider = provider_for(upstream.url, token=TOKEN)
    kinds: list[str] = []
    with provider.around(BurstInfo(PROVIDER, "i", 1)) as context:
        cursor: JSONValue = None
        while True:
            page = provider.next(context, cursor)
            kinds += [entity["kind"] for entity in page.entities]
            if page.done:
                break
            cursor = page.cursor
    order = {"Domain": 0, "System": 1, "Component": 2, "API": 2}
    assert [order[kind] for kind in kinds] == sorted(order[kind] for kind in kinds)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_expired_continue_tokens_in_all_three_phases_change_nothing(
    repository: SqlRepository, clock: ManualClock, seed: int
) -> None:
    with serve(DatasetSpec(orgs=7, projects=3, components=5, seed=seed)) as upstream:
        upstream.set_faults(expire_rate=0.4, fault_seed=seed)
        provider = provider_for(upstream.url, token=TOKEN, chunk_size=2)
        engine = build_engine(repository, clock, provider)
        with captured_events() as logs:
            complete_pass(engine, clock)
        assert stored_catalog(repository.engine) == expected_catalog(upstream.dataset)
    restarts = [entry["listing"] for entry in logs if entry["event"].startswith("continue token")]
    for listing in ("listing organizations", "listing projects", "listing components"):
        assert any(r.startswith(listing) for r in restarts), (listing, restarts)


def test_a_410_while_listing_organizations_never_loses_the_remaining_organizations(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    """The reference provider drops the rest of the organizations on a 410 in that phase, and
    its unguarded sweep then deletes their whole subtrees. Here the listing restarts."""
    engine = build_engine(
        repository,
        clock,
        provider_for(upstream.url, token=TOKEN, chunk_size=1),
        options(rest_length=1),
    )
    complete_pass(engine, clock)
    before = stored_catalog(repository.engine)
    upstream.set_faults(expire_rate=0.5, endpoints=["orgs"], fault_seed=1)

    second = complete_pass(engine, clock)

    assert second.removed == 0
    assert stored_catalog(repository.engine) == before
    assert upstream.stats()["by_status"].get("410", 0) >= 2


def test_tokens_that_always_expire_end_in_backoff_not_in_an_endless_restart(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(expire_rate=1.0, endpoints=["orgs"])
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN, chunk_size=1))
    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]
    assert outcome.note == (
        "ContinueTokenExpiredError: listing organizations: continue tokens expired 6 times in a "
        "row, none was honoured"
    )


def test_the_next_pass_sweeps_exactly_what_was_deleted_upstream(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    engine = build_engine(
        repository, clock, provider_for(upstream.url, token=TOKEN), options(rest_length=1)
    )
    complete_pass(engine, clock)
    before = set(stored_catalog(repository.engine))
    response = upstream.control.post(
        "/_control/mutate", json={"add": 4, "change": 4, "remove": 3, "seed": 9}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["removed"] and report["added"] and report["changed"]

    second = complete_pass(engine, clock)

    expected = expected_catalog(upstream.dataset)
    assert stored_catalog(repository.engine) == expected
    assert second.removed == len(before - set(expected))
    assert second.removed > 0


def test_transient_5xx_and_429_are_retried_and_the_pass_completes(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(error_rate=0.2, rate_limit_rate=0.2, retry_after_seconds=0, fault_seed=3)
    provider = provider_for(upstream.url, token=TOKEN, retries=8)
    engine = build_engine(repository, clock, provider)

    outcomes = run_until(engine, clock, TickAction.PASS_COMPLETED)

    assert all(o.action is not TickAction.BACKED_OFF for o in outcomes)
    assert stored_catalog(repository.engine) == expected_catalog(upstream.dataset)
    by_status = upstream.stats()["by_status"]
    assert by_status.get("503", 0) > 0 and by_status.get("429", 0) > 0


def test_a_persistent_failure_backs_off_with_a_clear_error_and_never_shows_the_token(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(error_rate=1.0, endpoints=["projects"])
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN, retries=2))
    with captured_events() as logs:
        outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]

    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None and ingestion.last_error is not None
    assert ingestion.last_error.startswith("TransientUpstreamError: GET /orgs/")
    assert "HTTP 503" in ingestion.last_error and "(after 3 attempts)" in ingestion.last_error
    assert outcome.note == ingestion.last_error
    assert TOKEN not in repr(logs) and TOKEN not in ingestion.last_error

    upstream.set_faults()  # the upstream recovers: the pass resumes where it stopped
    complete_pass(engine, clock, allow_backoff=True)
    assert stored_catalog(repository.engine) == expected_catalog(upstream.dataset)


def test_a_continue_token_that_does_not_advance_is_reported_not_looped_on(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(stuck_token=True, endpoints=["components"])
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN, chunk_size=2))

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]

    assert outcome.note is not None
    assert "continue token did not advance" in outcome.note
    assert "listing components of " in outcome.note


def test_malformed_json_is_a_clear_contract_error(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(malformed_rate=1.0, endpoints=["projects"])
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN))
    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]
    assert outcome.note is not None
    assert outcome.note.startswith("UpstreamContractError: GET /orgs/")
    assert "response is not valid JSON" in outcome.note


def test_a_wrong_token_is_an_error_that_names_the_request_not_the_token(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    wrong = "wrong-token-93b1"
    engine = build_engine(repository, clock, provider_for(upstream.url, token=wrong))
    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]
    assert outcome.note == "UpstreamError: GET /orgs: HTTP 401 (UNAUTHORIZED: unauthorized)"


def test_an_api_without_cursor_pagination_is_refused_with_a_clear_message(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(unpaged=True)
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN))
    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]
    assert outcome.note is not None
    assert outcome.note.startswith("PaginationUnsupportedError: GET /orgs?limit=1: the API does")
    assert "limit/continue paging" in outcome.note


def test_duplicated_items_across_pages_and_repeated_detail_failures(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    """Repeated items are emitted once; a component whose detail keeps failing is emitted from
    its listing, without APIs, and the rest of the pass is unaffected."""
    [failing] = [
        path
        for path in upstream.dataset.paths("component")
        if "service" in str(upstream.dataset.component_detail(*_split3(path))["type"]).lower()
    ][:1]
    upstream.set_faults(duplicate_rate=0.5, fail_components=[failing], fault_seed=2)
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN, retries=1))
    with captured_events() as logs:
        complete_pass(engine, clock)

    expected = expected_catalog(upstream.dataset)
    catalog = stored_catalog(repository.engine)
    name = failing.rsplit("/", 1)[1]
    ref = f"component:default/{name}"
    assert "providesApis" in expected[ref]["spec"]
    assert "providesApis" not in catalog[ref]["spec"]
    lost_apis = {f"api:default/{api}" for api in expected[ref]["spec"]["providesApis"]}
    assert set(catalog) == set(expected) - lost_apis
    assert {r: e for r, e in catalog.items() if r != ref} == {
        r: e for r, e in expected.items() if r != ref and r not in lost_apis
    }
    [fallback] = [entry for entry in logs if entry["event"].startswith("component detail failed")]
    assert fallback["component"] == failing
    assert "HTTP 503" in fallback["reason"]


def test_clashing_names_keep_the_first_writer_in_the_default_namespace_and_are_counted(
    repository: SqlRepository, clock: ManualClock
) -> None:
    spec = DatasetSpec(orgs=3, projects=2, components=3, seed=6, shared_names=True)
    with serve(spec) as upstream:
        engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN))
        with captured_events() as logs:
            outcome = complete_pass(engine, clock)
        expected = expected_catalog(upstream.dataset)
        assert stored_catalog(repository.engine) == expected

    emitted = 3 + 3 * 2 + 3 * 2 * 3  # domains, systems, components (APIs clash likewise)
    clashes = [entry for entry in logs if entry["event"].startswith("entity clash")]
    assert outcome.duplicates == len(clashes) > 0
    systems = [c for c in clashes if c["ref"].startswith("system:")]
    assert len(systems) == 2 * 2  # each project name exists in 3 orgs: 2 repeats of each
    first_org = sorted(org["name"] for org in upstream.dataset.orgs())[0]
    for clash in systems:
        assert clash["kept"].startswith(f"{first_org}/")
        assert clash["dropped"].split("/")[1] == clash["kept"].split("/")[1]
        assert clash["dropped"].split("/")[0] != first_org
    assert outcome.entities + outcome.duplicates >= emitted


def test_one_namespace_per_organization_keeps_every_clashing_name_apart(
    repository: SqlRepository, clock: ManualClock
) -> None:
    spec = DatasetSpec(orgs=3, projects=2, components=3, seed=6, shared_names=True)
    with serve(spec) as upstream:
        provider = provider_for(upstream.url, token=TOKEN, strategy="organization")
        outcome = complete_pass(build_engine(repository, clock, provider), clock)
        expected = expected_catalog(upstream.dataset, "organization")
        catalog = stored_catalog(repository.engine)
    assert catalog == expected
    assert outcome.duplicates == 0
    namespaces = {entity["metadata"]["namespace"] for entity in catalog.values()}
    assert len(namespaces) == 3
    assert sum(1 for e in catalog.values() if e["kind"] == "System") == 3 * 2


def _project_of(entity: dict[str, Any]) -> str | None:
    annotations: dict[str, str] = entity["metadata"]["annotations"]
    return annotations.get("openchoreo.io/project") or annotations.get("openchoreo.io/project-id")


def _split3(path: str) -> tuple[str, str, str]:
    org, project, component = path.split("/")
    return org, project, component


def test_a_project_deleted_while_its_components_are_walked_is_skipped_and_the_pass_completes(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    provider = provider_for(upstream.url, token=TOKEN, chunk_size=2)
    engine = build_engine(repository, clock, OnePagePerBurst(provider, clock))
    while True:  # until a project's components are half listed
        outcome = run_until(engine, clock, TickAction.BURST)[-1]
        mark = repository.last_mark(outcome.ingestion_id or "")
        assert mark is not None
        walk = WalkCursor.load(mark.cursor)
        if walk.phase == 2 and len(walk.stack) == 3 and walk.stack[2].token is not None:
            break
    org, doomed = str(walk.stack[0].after), str(walk.stack[1].after)
    listed_before = set(stored_catalog(repository.engine))
    upstream.dataset.remove(f"{org}/{doomed}")

    with captured_events() as logs:
        complete_pass(engine, clock)

    [vanished] = [entry for entry in logs if entry["event"].startswith("parent vanished")]
    assert vanished["listing"] == f"listing components of {org}/{doomed}"
    catalog = stored_catalog(repository.engine)
    expected = expected_catalog(upstream.dataset)
    leftovers = {ref for ref in listed_before if _project_of(catalog[ref]) == doomed}
    assert leftovers  # its System and first components came before the deletion
    assert set(catalog) == set(expected) | leftovers
    assert {ref: catalog[ref] for ref in expected} == expected


def test_the_cursor_stays_under_2_kb_walking_1000_organizations_of_100_projects() -> None:
    with serve(DatasetSpec(orgs=1000, projects=100, components=0, seed=2)) as upstream:
        provider = provider_for(upstream.url, token=TOKEN, chunk_size=100)
        largest, pages = 0, 0
        with provider.around(BurstInfo(PROVIDER, "i", 1)) as context:
            cursor: JSONValue = None
            while True:
                page = provider.next(context, cursor)
                pages += 1
                if page.done:
                    break
                cursor = orjson.loads(orjson.dumps(page.cursor))
                largest = max(largest, len(orjson.dumps(cursor)))
                if WalkCursor.load(cursor).phase == 2:
                    break
    assert pages > 1000
    assert 0 < largest < 2048


def test_requests_that_time_out_are_retried_and_the_pass_completes(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(timeout_rate=0.15, timeout_seconds=1.0, fault_seed=5)
    provider = provider_for(upstream.url, token=TOKEN, retries=6, timeout_seconds=0.3)
    engine = build_engine(repository, clock, provider)
    with captured_events() as logs:
        outcomes = run_until(engine, clock, TickAction.PASS_COMPLETED)
    assert all(o.action is not TickAction.BACKED_OFF for o in outcomes)
    assert stored_catalog(repository.engine) == expected_catalog(upstream.dataset)
    retried = [e for e in logs if e["event"] == "retrying OpenChoreo request"]
    assert any("ReadTimeout" in e["failure"] for e in retried)


def test_a_detail_call_that_fails_keeps_the_component_apis_from_the_previous_pass(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    """The sweep removes only what upstream positively no longer has: a service whose detail
    call keeps failing keeps its APIs (previous bodies) and lists them again; it is counted and
    noted on the pass, and the next pass without the fault is ordinary."""
    [failing] = [
        path
        for path in upstream.dataset.paths("component")
        if "service" in str(upstream.dataset.component_detail(*_split3(path))["type"]).lower()
    ][:1]
    engine = build_engine(repository, clock, provider_for(upstream.url, token=TOKEN, retries=1))
    complete_pass(engine, clock)
    expected = expected_catalog(upstream.dataset)
    assert stored_catalog(repository.engine) == expected
    ref = f"component:default/{failing.rsplit('/', 1)[1]}"
    apis = {f"api:default/{api}" for api in expected[ref]["spec"]["providesApis"]}
    assert apis

    upstream.set_faults(fail_components=[failing])
    outcome = complete_pass(engine, clock)

    assert outcome.fallbacks == 1 and outcome.removed == 0
    assert outcome.note == "1 component(s) kept their previous APIs: detail calls failed"
    [closed] = [i for i in repository.list_ingestions(PROVIDER) if i.status == "resting"]
    assert closed.fallbacks == 1 and closed.last_error == outcome.note
    catalog = stored_catalog(repository.engine)
    assert {r: catalog[r] for r in apis} == {r: expected[r] for r in apis}
    assert catalog[ref]["spec"]["providesApis"] == expected[ref]["spec"]["providesApis"]

    upstream.set_faults(fail_components=[])
    outcome = complete_pass(engine, clock)
    assert outcome.fallbacks == 0 and outcome.removed == 0 and outcome.note is None
    assert stored_catalog(repository.engine) == expected
