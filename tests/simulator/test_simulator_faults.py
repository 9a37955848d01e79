"""Injected faults and load accounting, observed by a real HTTP client."""

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from catalog_ingest.simulator.faults import ENDPOINTS, FaultSettings
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from tests.support.simulator_harness import Running, data, error_code, pages, running

PROJECT_SPEC = DatasetSpec(orgs=1, projects=1, components=20, seed=4)
IDLE = dict.fromkeys(ENDPOINTS, 0)
"""Every endpoint's counter at rest (both API generations are counted)."""


def first_project(sim: Running) -> tuple[str, str]:
    org = sim.dataset.orgs()[0]["name"]
    return org, sim.dataset.projects(org)[0]["name"]


def components_path(sim: Running) -> str:
    org, project = first_project(sim)
    return f"/orgs/{org}/projects/{project}/components"


def detail_paths(sim: Running) -> list[str]:
    return [
        f"/orgs/{c['orgName']}/projects/{c['projectName']}/components/{c['name']}"
        for c in sim.dataset.iter_components()
    ]


def first_token(sim: Running, path: str, limit: int = 5) -> str:
    token: str = data(sim.api.get(path, params={"limit": limit}))["metadata"]["continue"]
    return token


def test_error_rate_answers_503_with_an_api_error_body() -> None:
    with running(config=SimulatorConfig(faults=FaultSettings(error_rate=1.0))) as sim:
        response = sim.api.get("/orgs")
        assert response.status_code == 503
        assert error_code(response) == "SERVICE_UNAVAILABLE"


def test_faults_can_be_restricted_to_some_endpoints() -> None:
    with running() as sim:
        sim.set_faults(error_rate=1.0, endpoints=["detail"])
        assert sim.api.get("/orgs").status_code == 200
        assert sim.api.get(components_path(sim)).status_code == 200
        assert sim.api.get(detail_paths(sim)[0]).status_code == 503


def test_rate_limiting_answers_429_with_retry_after() -> None:
    with running() as sim:
        sim.set_faults(rate_limit_rate=1.0, retry_after_seconds=7)
        response = sim.api.get("/orgs")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert error_code(response) == "RATE_LIMITED"


def test_a_malformed_answer_is_a_200_that_is_not_json() -> None:
    with running() as sim:
        sim.set_faults(malformed_rate=1.0)
        response = sim.api.get("/orgs")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)


def test_expire_rate_answers_410_to_requests_that_carry_a_token() -> None:
    with running(PROJECT_SPEC) as sim:
        path = components_path(sim)
        token = first_token(sim, path)
        sim.set_faults(expire_rate=1.0)
        assert sim.api.get(path, params={"limit": 5}).status_code == 200
        expired = sim.api.get(path, params={"limit": 5, "continue": token})
        assert expired.status_code == 410
        assert error_code(expired) == "CONTINUE_TOKEN_EXPIRED"


def test_a_stuck_token_comes_back_unchanged_with_has_more() -> None:
    with running(PROJECT_SPEC) as sim:
        path = components_path(sim)
        sim.set_faults(stuck_token=True)
        token = first_token(sim, path)
        first = data(sim.api.get(path, params={"limit": 5, "continue": token}))
        again = data(sim.api.get(path, params={"limit": 5, "continue": token}))
        assert first["metadata"]["continue"] == token
        assert first["metadata"]["hasMore"] is True
        assert first["items"] == again["items"]


def test_duplicated_pages_start_with_the_previous_last_item_and_skip_nothing() -> None:
    with running(PROJECT_SPEC) as sim:
        path = components_path(sim)
        sim.set_faults(duplicate_rate=1.0)
        served = [[item["name"] for item in page["items"]] for page in pages(sim.api, path, 6)]
        assert len(served) == 4
        for previous, page in itertools.pairwise(served):
            assert page[0] == previous[-1]
        expected = [item["name"] for item in sim.dataset.components(*first_project(sim))]
        assert served[0] + [name for page in served[1:] for name in page[1:]] == expected


def test_a_timeout_holds_the_answer_longer_than_the_client_waits() -> None:
    with running(timeout=0.25) as sim:
        sim.set_faults(timeout_rate=1.0, timeout_seconds=1.0)
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            sim.api.get("/orgs")
        assert time.monotonic() - started < 0.9
        sim.set_faults()
        assert sim.api.get("/orgs").status_code == 200


def test_latency_delays_every_api_request_and_detail_latency_only_the_detail() -> None:
    with running() as sim:
        sim.set_faults(latency_ms=150, detail_latency_ms=300)
        started = time.monotonic()
        assert sim.api.get("/orgs").status_code == 200
        assert 0.15 <= time.monotonic() - started < 0.45
        started = time.monotonic()
        assert sim.api.get(detail_paths(sim)[0]).status_code == 200
        assert time.monotonic() - started >= 0.45


def test_failing_components_always_answer_503_on_their_detail() -> None:
    with running() as sim:
        failing, healthy = detail_paths(sim)[:2]
        upstream_path = "/".join(failing.split("/")[2::2])  # org/project/component
        sim.set_faults(fail_components=[upstream_path])
        for _ in range(3):
            assert error_code(sim.api.get(failing)) == "SERVICE_UNAVAILABLE"
        assert sim.api.get(healthy).status_code == 200
        assert sim.api.get(components_path(sim)).status_code == 200


def test_posting_faults_replaces_them_and_getting_shows_them() -> None:
    with running() as sim:
        sim.set_faults(error_rate=0.5, endpoints=["orgs"])
        current = sim.control.get("/_control/faults").json()
        assert current["error_rate"] == 0.5
        assert current["endpoints"] == ["orgs"]
        sim.set_faults(latency_ms=5)
        replaced = sim.control.get("/_control/faults").json()
        assert replaced == {**FaultSettings().model_dump(mode="json"), "latency_ms": 5.0}


@pytest.mark.parametrize(
    "payload",
    [b'{"error_rate": 1.5}', b'{"nope": 1}', b'{"endpoints": ["everything"]}', b"{", b"[]"],
)
def test_an_invalid_fault_payload_is_a_400_that_says_why(payload: bytes) -> None:
    with running() as sim:
        response = sim.control.post("/_control/faults", content=payload)
        assert response.status_code == 400
        assert error_code(response) == "INVALID_REQUEST"
        assert response.json()["error"].startswith("invalid payload: ")


def test_the_same_fault_seed_gives_the_same_faults() -> None:
    with running() as sim:

        def statuses() -> list[int]:
            sim.set_faults(error_rate=0.5, fault_seed=7)
            return [sim.api.get("/orgs").status_code for _ in range(30)]

        first = statuses()
        assert set(first) == {200, 503}
        assert statuses() == first


def test_stats_count_concurrent_requests_exactly() -> None:
    with running() as sim:
        sim.set_faults(detail_latency_ms=400)
        paths = detail_paths(sim)[:8]
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda path: sim.api.get(path).status_code, paths))
        assert codes == [200] * 8
        stats = sim.stats()
        assert stats["requests"] == 8
        assert stats["by_endpoint"] == {**IDLE, "detail": 8}
        assert stats["by_status"] == {"200": 8}
        assert stats["in_flight"] == 0
        assert stats["max_in_flight"] == 8
        assert stats["max_in_flight_by_endpoint"]["detail"] == 8
        reset = sim.control.post("/_control/reset-stats").json()
        assert reset["requests"] == 0
        assert reset["max_in_flight"] == 0
        assert reset["by_status"] == {}


def test_stats_stay_exact_under_many_clients_and_ignore_control_requests() -> None:
    with running() as sim:
        org = sim.dataset.orgs()[0]["name"]
        paths = ["/orgs", f"/orgs/{org}/projects", "/orgs/nope/projects", detail_paths(sim)[0]]

        def hammer(worker: int) -> list[int]:
            return [sim.api.get(paths[(worker + i) % 4]).status_code for i in range(24)]

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = [code for batch in pool.map(hammer, range(8)) for code in batch]
        sim.control.get("/_control/faults")
        stats: dict[str, Any] = sim.stats()
        assert stats["requests"] == 192
        assert stats["by_endpoint"] == {**IDLE, "orgs": 48, "projects": 96, "detail": 48}
        assert stats["by_status"] == {"200": codes.count(200), "404": codes.count(404)}
        assert codes.count(404) == 48
        assert 1 <= stats["max_in_flight"] <= 8
