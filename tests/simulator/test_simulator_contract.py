"""The simulator speaks the OpenChoreo contract over real HTTP: envelope, paging, errors, data."""

from collections import Counter
from typing import Any

import httpx
import pytest

from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from tests.support.simulator_harness import (
    SMALL,
    assert_matches_schema,
    crawl,
    data,
    error_code,
    names,
    pages,
    running,
)

SERVICE_TYPES = {"Service", "deployment/service"}
SHORT_FORMS = {"Service", "WebApplication", "ScheduledTask"}
LONG_FORMS = {"deployment/service", "deployment/web-application", "cronjob/scheduled-task"}


def first_project(dataset: Dataset) -> tuple[str, str]:
    org = dataset.orgs()[0]["name"]
    return org, dataset.projects(org)[0]["name"]


def components_path(dataset: Dataset) -> str:
    org, project = first_project(dataset)
    return f"/orgs/{org}/projects/{project}/components"


def test_listings_use_the_api_response_envelope_and_match_the_contract() -> None:
    with running() as sim:
        org, project = first_project(sim.dataset)
        listings = {
            "/orgs": "OrganizationResponse",
            f"/orgs/{org}/projects": "ProjectResponse",
            f"/orgs/{org}/projects/{project}/components": "ComponentResponse",
        }
        for path, schema in listings.items():
            body = sim.api.get(path).json()
            assert set(body) == {"success", "data"}
            assert_matches_schema(body, "APIResponse")
            assert_matches_schema(body["data"], "ListResponse")
            metadata = body["data"]["metadata"]
            assert set(metadata) == {"resourceVersion", "continue", "hasMore"}
            assert metadata == {"resourceVersion": "1000", "continue": "", "hasMore": False}
            items = body["data"]["items"]
            assert items
            for item in items:
                assert_matches_schema(item, schema)
            item_names = [item["name"] for item in items]
            assert item_names == sorted(item_names)


def test_list_items_never_carry_the_workflow_or_the_workload() -> None:
    with running() as sim:
        items = data(sim.api.get(components_path(sim.dataset)))["items"]
        assert items
        for item in items:
            assert "componentWorkflow" not in item
            assert "workload" not in item
            assert {"uid", "name", "type", "projectName", "orgName", "createdAt"} <= set(item)


def test_limit_defaults_to_100_and_is_clamped_to_512() -> None:
    with running(DatasetSpec(orgs=1, projects=1, components=600, seed=2)) as sim:
        path = components_path(sim.dataset)
        default = data(sim.api.get(path))
        assert len(default["items"]) == 100
        assert default["metadata"]["hasMore"] is True
        clamped = data(sim.api.get(path, params={"limit": 10_000}))
        assert len(clamped["items"]) == 512
        rest = data(sim.api.get(path, params={"continue": clamped["metadata"]["continue"]}))
        assert len(rest["items"]) == 88
        assert rest["metadata"] == {"resourceVersion": "1000", "continue": "", "hasMore": False}


@pytest.mark.parametrize("limit", ["0", "-3", "abc", "1.5", "", "1_0"])
def test_a_limit_below_1_or_not_an_integer_is_a_400(limit: str) -> None:
    with running() as sim:
        response = sim.api.get("/orgs", params={"limit": limit})
        assert response.status_code == 400
        assert error_code(response) == "INVALID_LIMIT"


def test_paging_with_continue_covers_every_visible_item_exactly_once() -> None:
    spec = DatasetSpec(orgs=4, projects=3, components=17, seed=5, hidden_every=3)
    with running(spec) as sim:
        crawled = crawl(sim.api, limit=4)
        assert len(crawled) == len(set(crawled))
        assert crawled == list(sim.dataset.paths("component"))
        assert sum(1 for _ in sim.dataset.iter_components()) == len(crawled)
        assert len(crawled) < spec.total_components  # some were hidden


def test_a_token_resumes_after_the_last_name_served_across_upstream_changes() -> None:
    spec = DatasetSpec(orgs=1, projects=1, components=40, seed=8)
    with running(spec) as sim:
        path = components_path(sim.dataset)
        first = data(sim.api.get(path, params={"limit": 15}))
        served = [item["name"] for item in first["items"]]
        before = set(names(sim.api, path))
        order = {"add": 8, "remove": 8, "seed": 4, "levels": ["component"]}
        report = sim.control.post("/_control/mutate", json=order).json()
        token = first["metadata"]["continue"]
        page = data(sim.api.get(path, params={"limit": 15, "continue": token}))
        assert page["metadata"]["resourceVersion"] == "1001"
        rest = [item["name"] for item in page["items"]]
        while page["metadata"]["hasMore"]:
            token = page["metadata"]["continue"]
            page = data(sim.api.get(path, params={"limit": 15, "continue": token}))
            rest += [item["name"] for item in page["items"]]
        removed = {p.rsplit("/", 1)[1] for p in report["removed"]}
        added = {p.rsplit("/", 1)[1] for p in report["added"]}
        assert len(served + rest) == len(set(served + rest))
        assert (before - removed) <= set(served + rest)
        assert all(name > served[-1] for name in rest)
        assert set(rest) == {n for n in (before - removed) | added if n > served[-1]}


def test_a_token_expires_with_410_after_its_allowed_uses() -> None:
    with running(config=SimulatorConfig(token_max_uses=2)) as sim:
        token = data(sim.api.get("/orgs", params={"limit": 1}))["metadata"]["continue"]
        for _ in range(2):
            assert sim.api.get("/orgs", params={"limit": 1, "continue": token}).status_code == 200
        expired = sim.api.get("/orgs", params={"limit": 1, "continue": token})
        assert expired.status_code == 410
        assert expired.json() == {
            "success": False,
            "error": "continue token expired",
            "code": "CONTINUE_TOKEN_EXPIRED",
        }


def test_a_token_expires_with_410_after_its_ttl() -> None:
    now = [1_000_000.0]
    config = SimulatorConfig(token_ttl_seconds=30, clock=lambda: now[0])
    with running(config=config) as sim:
        token = data(sim.api.get("/orgs", params={"limit": 1}))["metadata"]["continue"]
        now[0] += 29
        assert sim.api.get("/orgs", params={"limit": 1, "continue": token}).status_code == 200
        now[0] += 2
        expired = sim.api.get("/orgs", params={"limit": 1, "continue": token})
        assert expired.status_code == 410
        assert error_code(expired) == "CONTINUE_TOKEN_EXPIRED"


@pytest.mark.parametrize("garbage", ["x", "not-a-token.at-all", "e30.AAAA", "%%%", "ü.ü"])
def test_a_garbage_token_is_a_400(garbage: str) -> None:
    with running() as sim:
        response = sim.api.get("/orgs", params={"continue": garbage})
        assert response.status_code == 400
        assert error_code(response) == "INVALID_CONTINUE_TOKEN"


def test_a_tampered_token_or_one_of_another_listing_is_a_400() -> None:
    with running() as sim:
        org = sim.dataset.orgs()[0]["name"]
        token = data(sim.api.get("/orgs", params={"limit": 1}))["metadata"]["continue"]
        payload, signature = token.split(".")
        forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
        for bad, path in ((forged, "/orgs"), (token, f"/orgs/{org}/projects")):
            response = sim.api.get(path, params={"continue": bad})
            assert response.status_code == 400
            assert error_code(response) == "INVALID_CONTINUE_TOKEN"


def test_missing_parents_and_components_are_404s_with_their_codes() -> None:
    with running() as sim:
        org, project = first_project(sim.dataset)
        cases = {
            "/orgs/nope/projects": ("ORGANIZATION_NOT_FOUND", "organization nope not found"),
            "/orgs/nope/projects/x/components": ("ORGANIZATION_NOT_FOUND", None),
            f"/orgs/{org}/projects/nope/components": ("PROJECT_NOT_FOUND", None),
            f"/orgs/{org}/projects/nope/components/x": ("PROJECT_NOT_FOUND", None),
            f"/orgs/{org}/projects/{project}/components/nope": ("COMPONENT_NOT_FOUND", None),
        }
        for path, (code, message) in cases.items():
            response = sim.api.get(path)
            assert response.status_code == 404, path
            assert error_code(response) == code
            if message is not None:
                assert response.json()["error"] == message


def _detail(sim_api: httpx.Client, item: dict[str, Any], include: str | None) -> Any:
    path = f"/orgs/{item['orgName']}/projects/{item['projectName']}/components/{item['name']}"
    return data(sim_api.get(path, params={} if include is None else {"include": include}))


def test_the_detail_has_the_workflow_and_the_workload_only_on_request_for_services() -> None:
    with running(DatasetSpec(orgs=1, projects=2, components=15, seed=3)) as sim:
        items = list(sim.dataset.iter_components())
        service = next(item for item in items if item["type"] in SERVICE_TYPES)
        other = next(item for item in items if item["type"] not in SERVICE_TYPES)
        plain = _detail(sim.api, service, None)
        assert_matches_schema(plain, "ComponentResponse")
        assert "workload" not in plain
        repository = plain["componentWorkflow"]["systemParameters"]["repository"]
        assert {"url", "appPath", "revision"} <= set(repository)
        assert len(repository["revision"]["commit"]) == 40
        assert {k: v for k, v in plain.items() if k != "componentWorkflow"} == service
        assert "workload" not in _detail(sim.api, service, "type")
        workload = _detail(sim.api, service, "type,workload")["workload"]
        assert_matches_schema(workload, "WorkloadResponse")
        assert workload["type"] == "Service"
        assert 1 <= len(workload["endpoints"]) <= 3
        for endpoint in workload["endpoints"].values():
            assert_matches_schema(endpoint, "WorkloadEndpoint")
        assert "workload" not in _detail(sim.api, other, "workload")
        assert "componentWorkflow" in _detail(sim.api, other, "workload")


def test_endpoints_span_the_protocols_and_most_have_a_schema() -> None:
    dataset = Dataset(DatasetSpec(orgs=2, projects=5, components=40, seed=9))
    endpoints = [
        endpoint
        for item in dataset.iter_components()
        if item["type"] in SERVICE_TYPES
        for endpoint in dataset.component_detail(
            item["orgName"], item["projectName"], item["name"], include_workload=True
        )["workload"]["endpoints"].values()
    ]
    types = Counter(endpoint["type"] for endpoint in endpoints)
    assert set(types) == {"HTTP", "REST", "GraphQL", "gRPC", "Websocket", "TCP", "UDP"}
    with_schema = [endpoint for endpoint in endpoints if "schema" in endpoint]
    assert 0.5 < len(with_schema) / len(endpoints) < 0.95
    assert all(endpoint["schema"]["content"].strip() for endpoint in with_schema)
    assert all(1 <= endpoint["port"] <= 65535 for endpoint in endpoints)


@pytest.mark.parametrize(
    "sizes", [(1, 1, 20), (20, 1, 1), (2, 2, 5), (1, 4, 6), (3, 3, 3)], ids=str
)
def test_both_component_type_forms_occur_in_any_dataset_of_20_components(
    sizes: tuple[int, int, int],
) -> None:
    for seed in range(5):
        dataset = Dataset(DatasetSpec(*sizes, seed=seed))
        types = {item["type"] for item in dataset.iter_components()}
        assert types & SHORT_FORMS, (sizes, seed)
        assert types & LONG_FORMS, (sizes, seed)


def test_about_60_percent_of_components_are_services() -> None:
    dataset = Dataset(DatasetSpec(orgs=2, projects=10, components=100, seed=4))
    types = Counter(item["type"] for item in dataset.iter_components())
    assert set(types) == SHORT_FORMS | LONG_FORMS
    services = types["Service"] + types["deployment/service"]
    assert 0.55 < services / types.total() < 0.65


def _everything(dataset: Dataset) -> list[Any]:
    details = [
        dataset.component_detail(c["orgName"], c["projectName"], c["name"], True)
        for c in dataset.iter_components()
    ]
    return [*dataset.iter_orgs(), *dataset.iter_projects(), *details]


def test_the_same_spec_gives_the_same_data_and_another_seed_other_data() -> None:
    spec = DatasetSpec(orgs=2, projects=3, components=7, seed=21)
    assert _everything(Dataset(spec)) == _everything(Dataset(spec))
    other = _everything(Dataset(DatasetSpec(orgs=2, projects=3, components=7, seed=22)))
    assert other != _everything(Dataset(spec))


def test_names_are_dns_labels_of_at_most_40_characters() -> None:
    dataset = Dataset(DatasetSpec(orgs=12, projects=11, components=10, seed=1))
    dataset.mutate(add=30, seed=2)
    for level in ("org", "project", "component"):
        for path in dataset.paths(level):
            name = path.rsplit("/", 1)[-1]
            assert len(name) <= 40
            assert name.replace("-", "").isalnum() and name == name.lower()
            assert name[0].isalnum() and name[-1].isalnum()


def test_mutations_over_http_remove_add_and_change_components() -> None:
    with running(DatasetSpec(orgs=2, projects=2, components=10, seed=6)) as sim:
        before = set(crawl(sim.api, limit=7))
        order = {"add": 3, "change": 3, "remove": 3, "seed": 1, "levels": ["component"]}
        # The same order on a twin dataset: mutations are deterministic, so this is a preview.
        preview = Dataset(sim.dataset.spec).mutate(3, 3, 3, seed=1, levels=("component",))
        changed_before = {}
        for path in preview.changed:
            org, project, name = path.split("/")
            changed_before[path] = sim.api.get(f"/orgs/{org}/projects/{project}/components/{name}")
        response = sim.control.post("/_control/mutate", json=order)
        assert response.status_code == 200
        report_json = response.json()
        assert report_json == preview.to_json()
        assert len(report_json["removed"]) == 3
        assert len(report_json["changed"]) == 3
        assert len(report_json["added"]) == 3
        after = set(crawl(sim.api, limit=7))
        assert after == (before - set(report_json["removed"])) | set(report_json["added"])
        for path in report_json["removed"]:
            org, project, name = path.split("/")
            gone = sim.api.get(f"/orgs/{org}/projects/{project}/components/{name}")
            assert error_code(gone) == "COMPONENT_NOT_FOUND"
        for path, old in changed_before.items():
            org, project, name = path.split("/")
            new = data(sim.api.get(f"/orgs/{org}/projects/{project}/components/{name}"))
            assert new != old.json()["data"]
            assert new["uid"] == old.json()["data"]["uid"]


def test_mutations_reach_organizations_and_projects_with_their_subtrees() -> None:
    with running(DatasetSpec(orgs=3, projects=3, components=4, seed=6)) as sim:
        removal = {"remove": 1, "seed": 3, "levels": ["project"]}
        removed = sim.control.post("/_control/mutate", json=removal).json()["removed"]
        org, project = removed[0].split("/")
        assert project not in names(sim.api, f"/orgs/{org}/projects")
        gone = sim.api.get(f"/orgs/{org}/projects/{project}/components")
        assert error_code(gone) == "PROJECT_NOT_FOUND"
        addition = {"add": 1, "seed": 3, "levels": ["org"]}
        added = sim.control.post("/_control/mutate", json=addition).json()["added"]
        new_org = added[0]
        assert "/" not in new_org
        assert new_org in names(sim.api, "/orgs")
        assert any(path.count("/") == 2 for path in added)
        assert set(added) <= {new_org} | set(crawl(sim.api, 5)) | {
            f"{new_org}/{p}" for p in names(sim.api, f"/orgs/{new_org}/projects")
        }
        bad = sim.control.post("/_control/mutate", json={"add": -1})
        assert bad.status_code == 400
        assert error_code(bad) == "INVALID_REQUEST"
        assert "add" in bad.json()["error"]


def test_shared_names_repeat_projects_and_components_across_orgs_only() -> None:
    dataset = Dataset(DatasetSpec(orgs=3, projects=2, components=4, seed=7, shared_names=True))
    orgs = [org["name"] for org in dataset.orgs()]
    project_names = [[p["name"] for p in dataset.projects(org)] for org in orgs]
    assert project_names[0] == project_names[1] == project_names[2]
    for org in orgs:
        in_org = [c["name"] for p in project_names[0] for c in dataset.components(org, p)]
        assert len(in_org) == len(set(in_org))
    by_name = Counter(path.rsplit("/", 1)[1] for path in dataset.paths("component"))
    assert set(by_name.values()) == {3}
    default = Dataset(DatasetSpec(orgs=3, projects=2, components=4, seed=7))
    assert set(Counter(p.rsplit("/", 1)[1] for p in default.paths("component")).values()) == {1}


def test_hidden_items_leave_short_or_empty_pages_that_still_have_more() -> None:
    with running(DatasetSpec(orgs=6, projects=2, components=2, seed=1, hidden_every=2)) as sim:
        all_pages = list(pages(sim.api, "/orgs", limit=1))
        assert any(not p["items"] and p["metadata"]["hasMore"] for p in all_pages)
        visible = [item["name"] for p in all_pages for item in p["items"]]
        assert visible == [org["name"] for org in sim.dataset.orgs()]
        assert len(visible) == 3
        hidden = {n.path[-1] for n in sim.dataset.children(sim.dataset.node(()))} - set(visible)
        assert len(hidden) == 3
        for name in hidden:
            assert error_code(sim.api.get(f"/orgs/{name}/projects")) == "ORGANIZATION_NOT_FOUND"


def test_a_bearer_token_is_required_everywhere_but_health() -> None:
    config = SimulatorConfig(token="s3cret-token")
    with running(config=config) as sim:
        for response in (
            sim.api.get("/orgs"),
            sim.api.get("/orgs", headers={"Authorization": "Bearer wrong"}),
            sim.api.get("/orgs", headers={"Authorization": "Basic s3cret-token"}),
            sim.control.get("/_control/stats"),
            sim.control.post("/_control/faults", json={}),
            sim.api.get("/no/such/route"),
        ):
            assert response.status_code == 401
            assert response.json() == {
                "success": False,
                "error": "unauthorized",
                "code": "UNAUTHORIZED",
            }
        assert sim.control.get("/health").json() == {"status": "ok"}
        auth = {"Authorization": "Bearer s3cret-token"}
        assert sim.api.get("/orgs", headers=auth).status_code == 200
        assert sim.control.get("/_control/stats", headers=auth).status_code == 200
        assert "s3cret-token" not in repr(config)


def test_unknown_routes_and_methods_answer_in_the_error_shape() -> None:
    with running() as sim:
        missing = sim.api.get("/nope")
        assert missing.status_code == 404
        assert error_code(missing) == "NOT_FOUND"
        wrong = sim.api.delete("/orgs")
        assert wrong.status_code == 405
        assert error_code(wrong) == "METHOD_NOT_ALLOWED"


def test_the_small_default_dataset_is_served_whole() -> None:
    with running() as sim:
        assert len(crawl(sim.api, limit=5)) == SMALL.total_components
