"""The namespace-era read API (``../shared/reference/openchoreo-api-namespaces.yaml``).

Namespaces, a namespace's projects, components (optionally ``?project=``) and workloads
(optionally ``?component=``), each listing paged by ``limit`` (default 20, clamped to 1..100)
and ``cursor`` (see :mod:`.cursors`), plus the read of one namespace, project, component or
workload. Bodies are the resources of :mod:`.resources`, errors those of
:mod:`.namespace_errors`.
"""

import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog_ingest.simulator.api_errors import ApiError, json_response
from catalog_ingest.simulator.cursors import Listing, read_page
from catalog_ingest.simulator.dataset import NotFoundError
from catalog_ingest.simulator.faults import FaultPlan
from catalog_ingest.simulator.namespace_errors import (
    namespace_not_found,
    namespace_response,
    not_found,
)
from catalog_ingest.simulator.namespace_views import (
    ChildView,
    ComponentsView,
    Entry,
    View,
    render,
    visible,
)
from catalog_ingest.simulator.serving import Dialect, Served, served_route
from catalog_ingest.simulator.spec import ROOT, Node
from catalog_ingest.simulator.state import Simulator

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
UNPAGED_LIMIT = 10**9
MALFORMED_BODY = b'{"items": [{"apiVersion": "openchoreo.dev/v1alpha1", "metadata": {"name": '
_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_limit(raw: str | None) -> int:
    """Default 20, clamped to 1..100 (never an error for an integer, as the server)."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not _INTEGER.fullmatch(raw):
        # The generated server's parameter binding refuses what is not an integer.
        detail = {"field": "limit", "message": f"not an integer: {raw!r}"}
        raise ApiError(400, "BAD_REQUEST", "Invalid format for parameter limit", details=[detail])
    return max(1, min(int(raw), MAX_LIMIT))


def _namespace(simulator: Simulator, request: Request) -> Node:
    return simulator.dataset.node((request.path_params["ns"],))


def _listed(
    simulator: Simulator,
    request: Request,
    plan: FaultPlan,
    key: str,
    view: View,
    match: Callable[[Entry], bool] | None = None,
) -> Response:
    """One page of ``view``: ``{items, pagination: {nextCursor?, remainingCount?}}``."""
    dataset = simulator.dataset
    limit = parse_limit(request.query_params.get("limit"))

    def keep(entry: Entry) -> bool:
        return visible(dataset, entry) and (match is None or match(entry))

    if simulator.faults.settings.unpaged:
        everything = view.window(None, UNPAGED_LIMIT).entries
        items = [render(dataset, view.kind, entry) for entry in everything if keep(entry)]
        return json_response({"items": items, "pagination": {}})
    filtered = match is not None or dataset.spec.hidden_every is not None
    listing = Listing(key, view, keep, filtered)
    cursor = request.query_params.get("cursor") or None
    page = read_page(simulator, listing, limit, cursor, plan)
    items = [render(dataset, view.kind, entry) for entry in page.entries]
    return json_response({"items": items, "pagination": page.pagination()})


def _in_project(project: str) -> Callable[[Entry], bool]:
    return lambda entry: entry.project is not None and entry.project.name == project


def _of_component(component: str) -> Callable[[Entry], bool]:
    return lambda entry: entry.node.name == component


def list_namespaces(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    with simulator.dataset.lock:
        view = ChildView(simulator.dataset, ROOT, "namespace")
        return _listed(simulator, request, plan, "namespaces", view)


def list_projects(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    with simulator.dataset.lock:
        namespace = _namespace(simulator, request)
        view = ChildView(simulator.dataset, namespace, "project")
        return _listed(simulator, request, plan, f"namespaces/{namespace.name}/projects", view)


def list_components(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    """Components of a namespace; ``?project=P`` keeps P's (404 when P does not exist)."""
    with simulator.dataset.lock:
        namespace = _namespace(simulator, request)
        project = request.query_params.get("project") or None
        match = None
        if project is not None:
            simulator.dataset.node((namespace.name, project))
            match = _in_project(project)
        view = ComponentsView(simulator.dataset, namespace)
        key = f"namespaces/{namespace.name}/components"
        return _listed(simulator, request, plan, key, view, match)


def list_workloads(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    """Workloads of a namespace; ``?component=C`` keeps C's (404 when C does not exist)."""
    with simulator.dataset.lock:
        namespace = _namespace(simulator, request)
        component = request.query_params.get("component") or None
        match = None
        if component is not None:
            found = ComponentsView(simulator.dataset, namespace).lookup(component)
            if found is None or not visible(simulator.dataset, found):
                raise not_found("Component", component, field="component")
            match = _of_component(component)
        view = simulator.workloads.of(namespace)
        key = f"namespaces/{namespace.name}/workloads"
        return _listed(simulator, request, plan, key, view, match)


def get_namespace(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    with simulator.dataset.lock:
        namespace = _namespace(simulator, request)
        return json_response(
            render(simulator.dataset, "namespace", Entry(namespace.name, namespace))
        )


def get_project(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    with simulator.dataset.lock:
        path = (request.path_params["ns"], request.path_params["project"])
        project = simulator.dataset.node(path)
        return json_response(render(simulator.dataset, "project", Entry(project.name, project)))


def _visible_entry(simulator: Simulator, view: View, noun: str, name: str) -> Entry:
    entry = view.lookup(name)
    if entry is None or not visible(simulator.dataset, entry):
        raise not_found(noun, name)
    return entry


def get_component(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    with simulator.dataset.lock:
        view = ComponentsView(simulator.dataset, _namespace(simulator, request))
        entry = _visible_entry(simulator, view, "Component", request.path_params["component"])
        return json_response(render(simulator.dataset, "component", entry))


def get_workload(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    with simulator.dataset.lock:
        view = simulator.workloads.of(_namespace(simulator, request))
        entry = _visible_entry(simulator, view, "Workload", request.path_params["workload"])
        return json_response(render(simulator.dataset, "workload", entry))


def _component_path(simulator: Simulator, request: Request) -> str | None:
    """``org/project/component`` of a component read, for the ``fail_components`` fault."""
    try:
        with simulator.dataset.lock:
            view = ComponentsView(simulator.dataset, _namespace(simulator, request))
            entry = view.lookup(request.path_params["component"])
    except NotFoundError:
        return None
    return None if entry is None else entry.node.upstream_path


NAMESPACE_DIALECT = Dialect(
    cursor_param="cursor",
    malformed_body=MALFORMED_BODY,
    render=namespace_response,
    not_found=namespace_not_found,
)


def namespace_routes(simulator: Simulator) -> list[Route]:
    served = [
        Served("/namespaces", "namespaces", list_namespaces, NAMESPACE_DIALECT),
        Served("/namespaces/{ns}", "namespace", get_namespace, NAMESPACE_DIALECT),
        Served("/namespaces/{ns}/projects", "ns_projects", list_projects, NAMESPACE_DIALECT),
        Served("/namespaces/{ns}/projects/{project}", "ns_project", get_project, NAMESPACE_DIALECT),
        Served("/namespaces/{ns}/components", "ns_components", list_components, NAMESPACE_DIALECT),
        Served(
            "/namespaces/{ns}/components/{component}",
            "ns_component",
            get_component,
            NAMESPACE_DIALECT,
            component_of=_component_path,
        ),
        Served("/namespaces/{ns}/workloads", "workloads", list_workloads, NAMESPACE_DIALECT),
        Served(
            "/namespaces/{ns}/workloads/{workload}", "workload", get_workload, NAMESPACE_DIALECT
        ),
    ]
    return [served_route(simulator, route) for route in served]
