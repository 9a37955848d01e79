"""The simulator speaks today's namespace-era contract over real HTTP, from the same dataset as
the organization era: resources, clamped limits, cursors, remainingCount, filters, errors."""

from typing import Any

import pytest

from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from tests.support import namespace_harness as ns
from tests.support.simulator_harness import SMALL, Running, data, running
from tests.support.simulator_harness import crawl as org_crawl

SERVICE_TYPES = {"Service", "deployment/service"}
LONG_FORMS = {
    "Service": "deployment/service",
    "WebApplication": "deployment/web-application",
    "ScheduledTask": "cronjob/scheduled-task",
}
READY = {"Ready": "True", "NotReady": "False", "Unknown": "Unknown"}


def namespace_components(dataset: Dataset, namespace: str) -> list[dict[str, Any]]:
    """The organization era's visible components of ``namespace``, in name order."""
    found = [
        component
        for project in dataset.projects(namespace)
        for component in dataset.components(namespace, project["name"])
    ]
    return sorted(found, key=lambda component: component["name"])


def namespace_workloads(dataset: Dataset, namespace: str) -> list[str]:
    services = namespace_components(dataset, namespace)
    return sorted(f"{c['name']}-workload" for c in services if c["type"] in SERVICE_TYPES)


def first_namespace(sim: Running) -> str:
    name: str = sim.dataset.orgs()[0]["name"]
    return name


def org_detail(sim: Running, namespace: str, project: str, name: str) -> Any:
    path = f"/orgs/{namespace}/projects/{project}/components/{name}"
    return data(sim.api.get(path, params={"include": "workload"}))


def test_every_namespace_era_response_matches_the_spec_schemas() -> None:
    with running() as sim:
        namespace = first_namespace(sim)
        project = sim.dataset.projects(namespace)[0]["name"]
        component = namespace_components(sim.dataset, namespace)[0]["name"]
        workload = namespace_workloads(sim.dataset, namespace)[0]
        listings = [
            "/namespaces",
            f"/namespaces/{namespace}/projects",
            f"/namespaces/{namespace}/components",
            f"/namespaces/{namespace}/workloads",
        ]
        for path in listings:
            page = ns.body(sim.api.get(path), ns.list_schema(path))
            assert page["items"]
            assert set(page) == {"items", "pagination"}
            item_names = ns.page_names(page)
            assert item_names == sorted(item_names)
        reads = {
            f"/namespaces/{namespace}": "Namespace",
            f"/namespaces/{namespace}/projects/{project}": "Project",
            f"/namespaces/{namespace}/components/{component}": "Component",
            f"/namespaces/{namespace}/workloads/{workload}": "Workload",
        }
        for path, schema in reads.items():
            resource = ns.body(sim.api.get(path), schema)
            assert resource["metadata"]["name"] == path.rsplit("/", 1)[1]


def test_resources_are_kubernetes_shaped_and_carry_the_organization_era_data() -> None:
    with running(DatasetSpec(orgs=2, projects=2, components=8, seed=3)) as sim:
        for org in sim.dataset.orgs():
            namespace = ns.body(sim.api.get(f"/namespaces/{org['name']}"), "Namespace")
            assert namespace["metadata"]["labels"] == {"openchoreo.dev/control-plane": "true"}
            assert namespace["metadata"]["creationTimestamp"] == org["createdAt"]
            assert namespace["status"] == {"phase": "Active"}
            for project in sim.dataset.projects(org["name"]):
                path = f"/namespaces/{org['name']}/projects/{project['name']}"
                resource = ns.body(sim.api.get(path), "Project")
                assert resource["kind"] == "Project"
                assert resource["metadata"]["uid"] == project["uid"]
                assert resource["metadata"]["namespace"] == org["name"]
                annotations = resource["metadata"]["annotations"]
                assert annotations["openchoreo.dev/description"] == project["description"]
                assert (
                    resource["spec"]["deploymentPipelineRef"]["name"]
                    == (project["deploymentPipeline"])
                )
                assert resource["status"]["conditions"][0]["status"] == READY[project["status"]]
        for item in ns.items(sim.api, f"/namespaces/{first_namespace(sim)}/components"):
            namespace, name = item["metadata"]["namespace"], item["metadata"]["name"]
            project = item["spec"]["owner"]["projectName"]
            detail = org_detail(sim, namespace, project, name)
            assert item["kind"] == "Component"
            assert item["apiVersion"] == "openchoreo.dev/v1alpha1"
            assert item["metadata"]["uid"] == detail["uid"]
            assert item["metadata"]["annotations"] == {
                "openchoreo.dev/display-name": detail["displayName"],
                "openchoreo.dev/description": detail["description"],
            }
            assert item["spec"]["componentType"]["name"] == LONG_FORMS.get(
                detail["type"], detail["type"]
            )
            assert item["spec"]["autoDeploy"] == detail["autoDeploy"]
            workflow = detail["componentWorkflow"]
            assert item["spec"]["workflow"]["name"] == workflow["name"]
            assert item["spec"]["workflow"]["parameters"] == workflow["systemParameters"]
            condition = item["status"]["conditions"][0]
            assert (condition["type"], condition["status"]) == ("Ready", READY[detail["status"]])
            one = ns.body(sim.api.get(f"/namespaces/{namespace}/components/{name}"), "Component")
            assert one == item


@pytest.mark.parametrize(("limit", "served"), [(None, 20), ("0", 1), ("-4", 1), ("500", 100)])
def test_limit_defaults_to_20_and_is_clamped_to_1_through_100(
    limit: str | None, served: int
) -> None:
    with running(DatasetSpec(orgs=1, projects=2, components=80, seed=2)) as sim:
        path = f"/namespaces/{first_namespace(sim)}/components"
        params = {} if limit is None else {"limit": limit}
        page = ns.body(sim.api.get(path, params=params), "ComponentList")
        assert len(page["items"]) == served
        assert page["pagination"]["remainingCount"] == 160 - served


def test_a_limit_that_is_not_an_integer_is_a_400_bad_request() -> None:
    with running() as sim:
        response = sim.api.get("/namespaces", params={"limit": "ten"})
        assert ns.error(response, 400, "BAD_REQUEST")["details"][0]["field"] == "limit"


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_paging_every_listing_with_next_cursor_yields_each_item_exactly_once(limit: int) -> None:
    with running(DatasetSpec(orgs=3, projects=4, components=6, seed=5)) as sim:
        dataset = sim.dataset
        assert ns.names(sim.api, "/namespaces", limit) == [o["name"] for o in dataset.orgs()]
        for org in dataset.orgs():
            namespace = org["name"]
            projects = ns.names(sim.api, f"/namespaces/{namespace}/projects", limit)
            assert projects == [p["name"] for p in dataset.projects(namespace)]
            components = ns.names(sim.api, f"/namespaces/{namespace}/components", limit)
            assert components == [c["name"] for c in namespace_components(dataset, namespace)]
            workloads = ns.names(sim.api, f"/namespaces/{namespace}/workloads", limit)
            assert workloads == namespace_workloads(dataset, namespace)
        assert sorted(ns.crawl(sim.api, limit)) == sorted(dataset.paths("component"))


def test_remaining_count_is_present_and_decreasing_on_unfiltered_pages() -> None:
    with running(DatasetSpec(orgs=1, projects=3, components=9, seed=4)) as sim:
        path = f"/namespaces/{first_namespace(sim)}/components"
        served, remaining = 0, []
        all_pages = list(ns.pages(sim.api, path, 4))
        for page in all_pages[:-1]:
            served += len(page["items"])
            remaining.append(page["pagination"]["remainingCount"])
            assert page["pagination"]["remainingCount"] == 27 - served
        assert remaining == sorted(remaining, reverse=True)
        assert len(set(remaining)) == len(remaining)
        assert all_pages[-1]["pagination"] == {}
        assert len(all_pages[-1]["items"]) == 3


def test_filtered_listings_carry_json_cursors_and_no_remaining_count() -> None:
    with running(DatasetSpec(orgs=1, projects=3, components=7, seed=6)) as sim:
        namespace = first_namespace(sim)
        path = f"/namespaces/{namespace}/components"
        skips = []
        for project in sim.dataset.projects(namespace):
            expected = [c["name"] for c in sim.dataset.components(namespace, project["name"])]
            all_pages = list(ns.pages(sim.api, path, 3, project=project["name"]))
            served = [name for page in all_pages for name in ns.page_names(page)]
            assert served == expected
            for page in all_pages:
                assert "remainingCount" not in page["pagination"]
                assert all(
                    i["spec"]["owner"]["projectName"] == project["name"] for i in page["items"]
                )
            cursors = [page["pagination"]["nextCursor"] for page in all_pages[:-1]]
            decoded = [ns.decode_cursor(cursor) for cursor in cursors]
            assert all(set(c) <= {"c", "s"} and c["c"] for c in decoded)
            skips += [c["s"] for c in decoded if "s" in c]
        assert skips  # some pages end inside a list call: the next one skips what was served
        assert all(0 < skip < 3 for skip in skips)


def test_the_component_filter_of_workloads_keeps_that_components_workload() -> None:
    with running() as sim:
        namespace = first_namespace(sim)
        components = namespace_components(sim.dataset, namespace)
        service = next(c for c in components if c["type"] in SERVICE_TYPES)
        other = next(c for c in components if c["type"] not in SERVICE_TYPES)
        path = f"/namespaces/{namespace}/workloads"
        kept = ns.items(sim.api, path, 5, component=service["name"])
        assert [w["spec"]["owner"]["componentName"] for w in kept] == [service["name"]]
        assert ns.items(sim.api, path, 5, component=other["name"]) == []


def test_unknown_namespaces_projects_components_and_workloads_are_404s() -> None:
    with running() as sim:
        namespace = first_namespace(sim)
        cases = {
            "/namespaces/nope": "Namespace 'nope' not found",
            "/namespaces/nope/projects": "Namespace 'nope' not found",
            "/namespaces/nope/components": "Namespace 'nope' not found",
            "/namespaces/nope/workloads": "Namespace 'nope' not found",
            f"/namespaces/{namespace}/projects/nope": "Project 'nope' not found",
            f"/namespaces/{namespace}/components/nope": "Component 'nope' not found",
            f"/namespaces/{namespace}/workloads/nope": "Workload 'nope' not found",
        }
        for path, message in cases.items():
            assert ns.error(sim.api.get(path), 404, "NOT_FOUND")["error"] == message, path
        unknown_project = sim.api.get(f"/namespaces/{namespace}/components?project=nope")
        assert ns.error(unknown_project, 404, "NOT_FOUND")["error"] == "Project 'nope' not found"
        unknown_component = sim.api.get(f"/namespaces/{namespace}/workloads?component=nope")
        assert ns.error(unknown_component, 404, "NOT_FOUND")["details"][0]["field"] == "component"


def test_hidden_items_are_filtered_in_memory_like_the_authorization_filter() -> None:
    spec = DatasetSpec(orgs=4, projects=3, components=5, seed=7, hidden_every=3)
    with running(spec) as sim:
        assert sorted(ns.crawl(sim.api, 2)) == sorted(org_crawl(sim.api, 2))
        all_pages = list(ns.pages(sim.api, "/namespaces", 1))
        assert all("remainingCount" not in page["pagination"] for page in all_pages)
        assert all(len(page["items"]) == 1 for page in all_pages[:-1])
        hidden = {n.name for n in sim.dataset.children(sim.dataset.node(()))} - set(
            ns.names(sim.api, "/namespaces")
        )
        assert hidden
        for name in hidden:
            ns.error(sim.api.get(f"/namespaces/{name}/projects"), 404, "NOT_FOUND")


def test_workloads_carry_the_endpoints_the_org_era_shows_for_the_same_component() -> None:
    with running(DatasetSpec(orgs=2, projects=3, components=8, seed=9)) as sim:
        checked = 0
        for org in sim.dataset.orgs():
            namespace = org["name"]
            for workload in ns.items(sim.api, f"/namespaces/{namespace}/workloads", 7):
                owner = workload["spec"]["owner"]
                assert workload["metadata"]["name"] == f"{owner['componentName']}-workload"
                detail = org_detail(sim, namespace, owner["projectName"], owner["componentName"])
                assert detail["type"] in SERVICE_TYPES
                expected = {
                    name: {
                        **endpoint,
                        "type": "HTTP" if endpoint["type"] == "REST" else endpoint["type"],
                    }
                    for name, endpoint in detail["workload"]["endpoints"].items()
                }
                assert workload["spec"]["endpoints"] == expected
                read = f"/namespaces/{namespace}/workloads/{workload['metadata']['name']}"
                assert ns.body(sim.api.get(read), "Workload") == workload
                checked += 1
        services = [c for c in sim.dataset.iter_components() if c["type"] in SERVICE_TYPES]
        assert checked == len(services) > 10


def test_mutations_show_in_both_generations_alike() -> None:
    with running(DatasetSpec(orgs=3, projects=3, components=6, seed=6)) as sim:
        before = set(ns.crawl(sim.api, 5))
        assert before == set(org_crawl(sim.api, 5))
        order = {"add": 6, "change": 6, "remove": 4, "seed": 2}
        report = sim.control.post("/_control/mutate", json=order).json()
        after = set(ns.crawl(sim.api, 5))
        assert after == set(org_crawl(sim.api, 5))
        assert after != before
        for path in report["changed"]:
            if path.count("/") != 2:
                continue
            namespace, project, name = path.split("/")
            detail = org_detail(sim, namespace, project, name)
            resource = ns.body(
                sim.api.get(f"/namespaces/{namespace}/components/{name}"), "Component"
            )
            annotations = resource["metadata"]["annotations"]
            assert annotations["openchoreo.dev/description"] == detail["description"]
            assert "(revision 1)" in detail["description"]
            assert resource["status"]["observedGeneration"] == 2
        for org in sim.dataset.orgs():
            workloads = ns.names(sim.api, f"/namespaces/{org['name']}/workloads", 3)
            assert workloads == namespace_workloads(sim.dataset, org["name"])
        for path in report["removed"]:
            parts = path.split("/")
            if len(parts) == 3:
                gone = sim.api.get(f"/namespaces/{parts[0]}/components/{parts[2]}")
                ns.error(gone, 404, "NOT_FOUND")


def test_added_components_keep_workloads_in_name_order() -> None:
    """``a-n1-workload`` sorts before ``a-workload``: the workload listing follows its own
    names, not its components' order."""
    with running(DatasetSpec(orgs=1, projects=2, components=10, seed=3)) as sim:
        order = {"add": 12, "seed": 5, "levels": ["component"]}
        sim.control.post("/_control/mutate", json=order)
        namespace = first_namespace(sim)
        for limit in (1, 4):
            served = ns.names(sim.api, f"/namespaces/{namespace}/workloads", limit)
            assert served == sorted(served) == namespace_workloads(sim.dataset, namespace)


@pytest.mark.parametrize("project_filter", [False, True])
def test_a_cursor_resumes_after_the_last_item_served_across_upstream_changes(
    project_filter: bool,
) -> None:
    with running(DatasetSpec(orgs=1, projects=2, components=20, seed=8)) as sim:
        namespace = first_namespace(sim)
        project = sim.dataset.projects(namespace)[0]["name"]
        params = {"project": project} if project_filter else {}
        path = f"/namespaces/{namespace}/components"
        before = set(ns.names(sim.api, path, 100, **params))
        first = ns.body(sim.api.get(path, params={"limit": 6, **params}), "ComponentList")
        served = ns.page_names(first)
        order = {"add": 6, "remove": 6, "seed": 4, "levels": ["component"]}
        report = sim.control.post("/_control/mutate", json=order).json()
        cursor = first["pagination"]["nextCursor"]
        rest = [
            name
            for page in ns.pages(sim.api, path, 6, cursor=cursor, **params)
            for name in ns.page_names(page)
        ]
        removed = {p.rsplit("/", 1)[1] for p in report["removed"]}
        assert len(served + rest) == len(set(served + rest))
        assert all(name > served[-1] for name in rest)
        survivors = {name for name in before - removed if name > served[-1]}
        assert survivors <= set(rest)


def test_the_same_spec_serves_the_same_resources() -> None:
    config = SimulatorConfig(token_secret=b"k" * 32)
    bodies = []
    for _ in range(2):
        with running(SMALL, config=config) as sim:
            path = f"/namespaces/{first_namespace(sim)}/workloads"
            bodies.append(ns.items(sim.api, path, 3))
    assert bodies[0] == bodies[1]
