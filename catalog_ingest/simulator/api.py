"""The organization-era read API: organizations, projects, components and one component."""

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog_ingest.simulator.api_errors import ApiError, invalid_limit, json_response
from catalog_ingest.simulator.dataset import NotFoundError, Path
from catalog_ingest.simulator.faults import FaultPlan
from catalog_ingest.simulator.serving import Dialect, Served, served_route
from catalog_ingest.simulator.state import Simulator

DEFAULT_LIMIT = 100
MAX_LIMIT = 512
MALFORMED_BODY = b'{"success": true, "data": {"items": [{"name": '
_INTEGER = re.compile(r"[+-]?[0-9]+")


UNPAGED_LIMIT = 10**9
"""Everything at once: the ``unpaged`` fault (a server without cursor pagination)."""


def parse_limit(raw: str | None) -> int:
    """Default 100, clamped to 512; not an integer or below 1 is a 400."""
    if raw is None:
        return DEFAULT_LIMIT
    if not _INTEGER.fullmatch(raw) or int(raw) < 1:
        raise invalid_limit(raw)
    return min(int(raw), MAX_LIMIT)


def listing_path(parent: Path) -> str:
    """The listing a continue token belongs to, e.g. ``orgs/acme/projects``."""
    kinds = ("orgs", "projects", "components")
    parts = ["orgs"]
    for name, kind in zip(parent, kinds[1:], strict=False):
        parts += [name, kind]
    return "/".join(parts)


def _parent(request: Request) -> Path:
    params = request.path_params
    return tuple(params[key] for key in ("org", "project") if key in params)


def list_items(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    limit = parse_limit(request.query_params.get("limit"))
    parent = _parent(request)
    listing = listing_path(parent)
    simulator.dataset.node(parent)  # a missing parent is a 404 before any token check
    if simulator.faults.settings.unpaged:
        items = simulator.dataset.page(parent, None, UNPAGED_LIMIT).items
        return json_response({"success": True, "data": {"items": items, "totalCount": len(items)}})
    token = request.query_params.get("continue") or None
    cursor = None if token is None else simulator.tokens.redeem(token, listing)
    repeat = cursor.last_visible if cursor is not None and plan.duplicate else None
    after = None if cursor is None else cursor.after
    window = simulator.dataset.page(parent, after, limit, repeat)
    if plan.stuck_token and token is not None:
        next_token, has_more = token, True
    elif plan.cycle_token and token is not None:
        fresh = simulator.tokens.issue(listing, window.last_name or after, window.last_visible)
        next_token, has_more = simulator.faults.cycle.answer(token, fresh), True
    elif window.has_more:
        next_token = simulator.tokens.issue(listing, window.last_name, window.last_visible)
        has_more = True
    else:
        next_token, has_more = "", False
    metadata = {
        "resourceVersion": simulator.dataset.resource_version,
        "continue": next_token,
        "hasMore": has_more,
    }
    return json_response({"success": True, "data": {"items": window.items, "metadata": metadata}})


def get_component(simulator: Simulator, request: Request, plan: FaultPlan) -> Response:
    params = request.path_params
    include = {part.strip() for part in request.query_params.get("include", "").split(",")}
    detail = simulator.dataset.component_detail(
        params["org"], params["project"], params["component"], "workload" in include
    )
    return json_response({"success": True, "data": detail})


def _not_found(error: NotFoundError) -> ApiError:
    return ApiError(404, error.code, str(error))


def _detail_path(simulator: Simulator, request: Request) -> str:
    return "/".join(request.path_params[k] for k in ("org", "project", "component"))


ORG_DIALECT = Dialect(
    cursor_param="continue",
    malformed_body=MALFORMED_BODY,
    render=ApiError.response,
    not_found=_not_found,
)


def org_routes(simulator: Simulator) -> list[Route]:
    served = [
        Served("/orgs", "orgs", list_items, ORG_DIALECT),
        Served("/orgs/{org}/projects", "projects", list_items, ORG_DIALECT),
        Served("/orgs/{org}/projects/{project}/components", "components", list_items, ORG_DIALECT),
        Served(
            "/orgs/{org}/projects/{project}/components/{component}",
            "detail",
            get_component,
            ORG_DIALECT,
            component_of=_detail_path,
        ),
    ]
    return [served_route(simulator, route) for route in served]
