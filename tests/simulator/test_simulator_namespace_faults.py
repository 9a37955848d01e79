"""Namespace-era failures as a client sees them: bad and expired cursors (HTTP 500), injected
faults, the bearer token, the counters, and the ``api`` setting that picks the generation."""

import itertools
import json
import time

import httpx
import pytest

from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from tests.support import namespace_harness as ns
from tests.support.simulator_harness import Running, data, error_code, running

SPEC = DatasetSpec(orgs=1, projects=2, components=10, seed=4)


def components_path(sim: Running) -> str:
    return f"/namespaces/{sim.dataset.orgs()[0]['name']}/components"


def first_cursor(sim: Running, path: str, limit: int = 3, **params: str) -> str:
    page = ns.body(sim.api.get(path, params={"limit": limit, **params}), ns.list_schema(path))
    cursor: str = page["pagination"]["nextCursor"]
    return cursor


def assert_cursor_failure(response: httpx.Response) -> None:
    body = ns.error(response, 500, "INTERNAL_ERROR")
    assert body["error"] == "Internal server error"
    assert body["details"][0]["field"] == "cursor"


@pytest.mark.parametrize("garbage", ["x", "not-a-token.at-all", "e30.AAAA", "%%%", "ü.ü", "W10"])
@pytest.mark.parametrize("project_filter", [False, True])
def test_a_malformed_cursor_is_a_500_with_the_error_body(
    garbage: str, project_filter: bool
) -> None:
    with running(SPEC) as sim:
        path = components_path(sim)
        project = sim.dataset.projects(sim.dataset.orgs()[0]["name"])[0]["name"]
        params = {"cursor": garbage, **({"project": project} if project_filter else {})}
        assert_cursor_failure(sim.api.get(path, params=params))


def test_a_tampered_cursor_or_one_of_another_listing_is_a_500() -> None:
    with running(SPEC) as sim:
        path = components_path(sim)
        namespace = sim.dataset.orgs()[0]["name"]
        cursor = first_cursor(sim, path)
        payload, signature = cursor.split(".")
        forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
        projects = f"/namespaces/{namespace}/projects"
        for bad, listing in ((f"{forged}.{signature}", path), (cursor, projects)):
            assert_cursor_failure(sim.api.get(listing, params={"cursor": bad}))
        project = sim.dataset.projects(namespace)[0]["name"]
        filtered = first_cursor(sim, path, project=project)
        assert_cursor_failure(sim.api.get(path, params={"cursor": filtered}))  # filter dropped


def test_an_expired_cursor_is_a_500_not_a_410() -> None:
    now = [1_000_000.0]
    config = SimulatorConfig(token_ttl_seconds=300, clock=lambda: now[0])
    with running(SPEC, config=config) as sim:
        path = components_path(sim)
        project = sim.dataset.projects(sim.dataset.orgs()[0]["name"])[0]["name"]
        plain, filtered = first_cursor(sim, path), first_cursor(sim, path, project=project)
        now[0] += 299
        assert sim.api.get(path, params={"cursor": plain}).status_code == 200
        now[0] += 2
        assert_cursor_failure(sim.api.get(path, params={"cursor": plain}))
        expired = sim.api.get(path, params={"cursor": filtered, "project": project})
        assert_cursor_failure(expired)
        assert "expired" in expired.json()["details"][0]["message"]


def test_the_expire_fault_answers_500_to_requests_that_carry_a_cursor() -> None:
    with running(SPEC) as sim:
        path = components_path(sim)
        cursor = first_cursor(sim, path)
        sim.set_faults(expire_rate=1.0)
        assert sim.api.get(path).status_code == 200
        assert_cursor_failure(sim.api.get(path, params={"cursor": cursor}))


def test_a_stuck_cursor_comes_back_unchanged() -> None:
    with running(SPEC) as sim:
        path = components_path(sim)
        sim.set_faults(stuck_token=True)
        cursor = first_cursor(sim, path)
        first = ns.body(sim.api.get(path, params={"limit": 3, "cursor": cursor}), "ComponentList")
        again = ns.body(sim.api.get(path, params={"limit": 3, "cursor": cursor}), "ComponentList")
        assert first["pagination"]["nextCursor"] == cursor
        assert first["items"] == again["items"]


def _follow_org(sim: Running, path: str, steps: int) -> tuple[list[str], list[list[str]]]:
    tokens, served = [], []
    params: dict[str, str | int] = {"limit": 3}
    for _ in range(steps):
        page = data(sim.api.get(path, params=params))
        served.append([item["name"] for item in page["items"]])
        assert page["metadata"]["hasMore"] is True
        tokens.append(page["metadata"]["continue"])
        params["continue"] = tokens[-1]
    return tokens, served


def _follow_namespaces(sim: Running, path: str, steps: int) -> tuple[list[str], list[list[str]]]:
    tokens, served = [], []
    params: dict[str, str | int] = {"limit": 3}
    for _ in range(steps):
        page = ns.body(sim.api.get(path, params=params), "ComponentList")
        served.append(ns.page_names(page))
        tokens.append(page["pagination"]["nextCursor"])
        params["cursor"] = tokens[-1]
    return tokens, served


@pytest.mark.parametrize("generation", ["orgs", "namespaces"])
def test_a_cycling_cursor_alternates_between_two_values_forever(generation: str) -> None:
    with running(SPEC) as sim:
        sim.set_faults(cycle_token=True)
        org = sim.dataset.orgs()[0]["name"]
        if generation == "orgs":
            project = sim.dataset.projects(org)[0]["name"]
            tokens, served = _follow_org(sim, f"/orgs/{org}/projects/{project}/components", 8)
        else:
            tokens, served = _follow_namespaces(sim, components_path(sim), 8)
        a, b = tokens[0], tokens[1]
        assert a != b
        assert tokens == [a, b] * 4
        assert served[1:] == [served[1], served[2]] * 3 + [served[1]]
        assert served[1] != served[2]


def test_transport_faults_answer_in_the_namespace_error_shape() -> None:
    with running(SPEC) as sim:
        sim.set_faults(error_rate=1.0)
        assert ns.error(sim.api.get("/namespaces"), 503, "INTERNAL_ERROR")["error"]
        sim.set_faults(rate_limit_rate=1.0, retry_after_seconds=7)
        limited = sim.api.get("/namespaces")
        ns.error(limited, 429, "INTERNAL_ERROR")
        assert limited.headers["Retry-After"] == "7"
        sim.set_faults(malformed_rate=1.0)
        malformed = sim.api.get("/namespaces")
        assert malformed.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(malformed.content)


def test_latency_and_timeouts_apply_to_namespace_routes() -> None:
    with running(SPEC, timeout=0.5) as sim:
        sim.set_faults(latency_ms=150)
        started = time.monotonic()
        assert sim.api.get("/namespaces").status_code == 200
        assert 0.15 <= time.monotonic() - started < 0.45
        sim.set_faults(timeout_rate=1.0, timeout_seconds=1.0)
        with pytest.raises(httpx.ReadTimeout):
            sim.api.get("/namespaces")


def test_faults_target_namespace_endpoints_by_name() -> None:
    with running(SPEC) as sim:
        path = components_path(sim)
        namespace = sim.dataset.orgs()[0]["name"]
        sim.set_faults(error_rate=1.0, endpoints=["ns_components"])
        assert sim.api.get(f"/namespaces/{namespace}/projects").status_code == 200
        assert sim.api.get(f"/namespaces/{namespace}/workloads").status_code == 200
        assert sim.api.get(path).status_code == 503
        component = sim.dataset.components(namespace, sim.dataset.projects(namespace)[0]["name"])[0]
        upstream = f"{namespace}/{component['projectName']}/{component['name']}"
        sim.set_faults(fail_components=[upstream])
        ns.error(sim.api.get(f"{path}/{component['name']}"), 503, "INTERNAL_ERROR")
        org_read = f"/orgs/{namespace}/projects/{component['projectName']}/components/"
        assert error_code(sim.api.get(org_read + component["name"])) == "SERVICE_UNAVAILABLE"


def test_duplicated_pages_repeat_the_previous_last_item() -> None:
    with running(SPEC) as sim:
        path = components_path(sim)
        sim.set_faults(duplicate_rate=1.0)
        served = [ns.page_names(page) for page in ns.pages(sim.api, path, 6)]
        assert len(served) == 4
        for previous, page in itertools.pairwise(served):
            assert page[0] == previous[-1]


def test_the_unpaged_fault_answers_every_item_without_a_cursor() -> None:
    with running(SPEC) as sim:
        sim.set_faults(unpaged=True)
        page = ns.body(sim.api.get(components_path(sim), params={"limit": 1}), "ComponentList")
        assert len(page["items"]) == 20
        assert page["pagination"] == {}


def test_a_bearer_token_is_required_and_refusals_use_the_namespace_shape() -> None:
    with running(SPEC, config=SimulatorConfig(token="s3cret-token")) as sim:
        path = components_path(sim)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            for route in ("/namespaces", path, "/namespaces/nope/no/such/route"):
                refused = ns.error(sim.api.get(route, headers=headers), 401, "UNAUTHORIZED")
                assert refused["details"] == []
        auth = {"Authorization": "Bearer s3cret-token"}
        assert sim.api.get(path, headers=auth).status_code == 200


def test_requests_are_counted_per_namespace_endpoint() -> None:
    with running(SPEC) as sim:
        namespace = sim.dataset.orgs()[0]["name"]
        list(ns.pages(sim.api, f"/namespaces/{namespace}/components", 7))
        sim.api.get(f"/namespaces/{namespace}/workloads")
        sim.api.get("/namespaces/nope")
        stats = sim.stats()
        assert stats["requests"] == 5
        by_endpoint = {name: n for name, n in stats["by_endpoint"].items() if n}
        assert by_endpoint == {"ns_components": 3, "workloads": 1, "namespace": 1}
        assert stats["by_status"] == {"200": 4, "404": 1}


@pytest.mark.parametrize(
    ("api", "served", "refused"),
    [("namespaces", "/namespaces", "/orgs"), ("orgs", "/orgs", "/namespaces")],
)
def test_the_api_setting_serves_one_generation_and_refuses_the_other_in_its_shape(
    api: str, served: str, refused: str
) -> None:
    with running(SPEC, config=SimulatorConfig(api=api)) as sim:  # type: ignore[arg-type]
        assert sim.api.get(served).status_code == 200
        namespace = sim.dataset.orgs()[0]["name"]
        response = sim.api.get(f"{refused}/{namespace}/projects")
        if refused == "/orgs":
            assert response.status_code == 404
            assert error_code(response) == "NOT_FOUND"
        else:
            ns.error(response, 404, "NOT_FOUND")
        assert sim.stats()["by_endpoint"]["orgs" if api == "orgs" else "namespaces"] == 1


def test_both_generations_are_served_by_default_and_a_bad_setting_is_refused() -> None:
    assert SimulatorConfig().api == "both"
    with running(SPEC) as sim:
        assert sim.api.get("/orgs").status_code == 200
        assert sim.api.get("/namespaces").status_code == 200
    with pytest.raises(ValueError, match="api must be one of namespaces, orgs, both"):
        SimulatorConfig(api="v2")  # type: ignore[arg-type]


def test_fault_settings_accept_the_namespace_endpoints_and_the_cycle() -> None:
    settings = FaultSettings(endpoints=["namespaces", "workloads"], cycle_token=True)
    assert settings.model_dump()["endpoints"] == ["namespaces", "workloads"]


def test_unknown_routes_and_methods_under_namespaces_answer_in_the_namespace_shape() -> None:
    with running(SPEC) as sim:
        ns.error(sim.api.get("/namespaces/a/b/c/d"), 404, "NOT_FOUND")
        ns.error(sim.api.delete("/namespaces"), 405, "BAD_REQUEST")
        assert error_code(sim.api.get("/nope")) == "NOT_FOUND"  # elsewhere: the org-era shape
