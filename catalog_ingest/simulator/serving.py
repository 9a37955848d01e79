"""How every API request is answered, whatever the generation: auth, faults, counters, errors.

The two API generations differ only in a :class:`Dialect` (the cursor's query parameter, the
error body, the not-found wording, the malformed body), so fault injection and the request
counters behave the same in both.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog_ingest.simulator.api_errors import ApiError
from catalog_ingest.simulator.dataset import NotFoundError
from catalog_ingest.simulator.faults import Endpoint, FaultPlan
from catalog_ingest.simulator.state import Simulator

PREFIX = "/api/v1"

logger = logging.getLogger(__name__)

Handler = Callable[[Simulator, Request, FaultPlan], Response]
ComponentOf = Callable[[Simulator, Request], str | None]
"""The ``org/project/component`` path a request reads, for the ``fail_components`` fault."""


@dataclass(frozen=True)
class Dialect:
    """What one API generation answers differently."""

    cursor_param: str
    """The query parameter carrying the paging token: ``continue`` or ``cursor``."""
    malformed_body: bytes
    """The ``malformed_rate`` fault's 200 body: the start of a page, cut off."""
    render: Callable[[ApiError], Response]
    not_found: Callable[[NotFoundError], ApiError]


@dataclass(frozen=True)
class Served:
    """One API route: its counter name, handler and generation."""

    path: str
    endpoint: Endpoint
    handler: Handler
    dialect: Dialect
    component_of: ComponentOf | None = None


async def _answer(simulator: Simulator, served: Served, request: Request) -> Response:
    dialect = served.dialect
    try:
        simulator.require_auth(request)
        component = None if served.component_of is None else served.component_of(simulator, request)
        has_token = bool(request.query_params.get(dialect.cursor_param))
        plan = simulator.faults.plan(served.endpoint, has_token, component)
        if plan.delay_seconds > 0:
            await asyncio.sleep(plan.delay_seconds)
        if plan.error is not None:
            raise plan.error
        if plan.malformed:
            return Response(dialect.malformed_body, media_type="application/json")
        return served.handler(simulator, request, plan)
    except ApiError as error:
        return dialect.render(error)
    except NotFoundError as error:
        return dialect.render(dialect.not_found(error))
    except Exception:
        logger.exception("simulator: %s request failed", served.endpoint)
        return dialect.render(ApiError(500, "INTERNAL_ERROR", "internal error"))


def served_route(simulator: Simulator, served: Served) -> Route:
    """The route: counts the request in the stats around answering it."""

    async def serve(request: Request) -> Response:
        simulator.stats.begin(served.endpoint)
        status: int | None = None
        try:
            response = await _answer(simulator, served, request)
            status = response.status_code
            return response
        finally:
            simulator.stats.end(served.endpoint, status)

    endpoint: Callable[[Request], Awaitable[Response]] = serve
    return Route(PREFIX + served.path, endpoint, methods=["GET"])
