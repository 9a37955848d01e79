"""The OpenChoreo read API: organizations, projects, components and one component."""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog_ingest.simulator.api_errors import ApiError, invalid_limit, json_response
from catalog_ingest.simulator.dataset import NotFoundError, Path
from catalog_ingest.simulator.faults import Endpoint, FaultPlan
from catalog_ingest.simulator.state import Simulator

PREFIX = "/api/v1"
DEFAULT_LIMIT = 100
MAX_LIMIT = 512
MALFORMED_BODY = b'{"success": true, "data": {"items": [{"name": '
_INTEGER = re.compile(r"[+-]?[0-9]+")

logger = logging.getLogger(__name__)

Handler = Callable[[Simulator, Request, FaultPlan], Response]


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


async def _answer(
    simulator: Simulator, endpoint: Endpoint, handler: Handler, request: Request
) -> Response:
    try:
        simulator.require_auth(request)
        component = None
        if endpoint == "detail":
            component = "/".join(request.path_params[k] for k in ("org", "project", "component"))
        has_token = bool(request.query_params.get("continue"))
        plan = simulator.faults.plan(endpoint, has_token, component)
        if plan.delay_seconds > 0:
            await asyncio.sleep(plan.delay_seconds)
        if plan.error is not None:
            raise plan.error
        if plan.malformed:
            return Response(MALFORMED_BODY, media_type="application/json")
        return handler(simulator, request, plan)
    except ApiError as error:
        return error.response()
    except NotFoundError as error:
        return ApiError(404, error.code, str(error)).response()
    except Exception:
        logger.exception("simulator: %s request failed", endpoint)
        return ApiError(500, "INTERNAL_ERROR", "internal error").response()


def _counted(
    simulator: Simulator, endpoint: Endpoint, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """The route endpoint: counts the request in the stats around answering it."""

    async def serve(request: Request) -> Response:
        simulator.stats.begin(endpoint)
        status: int | None = None
        try:
            response = await _answer(simulator, endpoint, handler, request)
            status = response.status_code
            return response
        finally:
            simulator.stats.end(endpoint, status)

    return serve


def api_routes(simulator: Simulator) -> list[Route]:
    routes: list[tuple[str, Endpoint, Handler]] = [
        ("/orgs", "orgs", list_items),
        ("/orgs/{org}/projects", "projects", list_items),
        ("/orgs/{org}/projects/{project}/components", "components", list_items),
        ("/orgs/{org}/projects/{project}/components/{component}", "detail", get_component),
    ]
    return [
        Route(PREFIX + path, _counted(simulator, endpoint, handler), methods=["GET"])
        for path, endpoint, handler in routes
    ]
