"""Control routes for tests and demos: faults, mutations, load statistics, health.

Control requests need the bearer token like API requests (except ``/health``) but are not
counted in the statistics.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog_ingest.simulator.api_errors import ApiError, json_response
from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.spec import Level
from catalog_ingest.simulator.state import Simulator

M = TypeVar("M", bound=BaseModel)
ControlHandler = Callable[[Simulator, Request], Awaitable[Response]]


class MutateRequest(BaseModel):
    """Body of ``POST /_control/mutate``."""

    model_config = ConfigDict(extra="forbid")

    add: int = Field(default=0, ge=0)
    change: int = Field(default=0, ge=0)
    remove: int = Field(default=0, ge=0)
    seed: int = 0
    levels: list[Level] | None = Field(default=None, min_length=1)
    """Restrict mutations to these levels (default: org, project and component)."""


def describe(error: ValidationError) -> str:
    """One line naming each invalid field."""
    problems = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"])
        problems.append(f"{location}: {problem['msg']}" if location else problem["msg"])
    return "invalid payload: " + "; ".join(problems)


async def _payload(request: Request, model: type[M]) -> M:
    body = await request.body()
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise ApiError(400, "INVALID_REQUEST", describe(error)) from None


async def get_faults(simulator: Simulator, request: Request) -> Response:
    return json_response(simulator.faults.settings.model_dump(mode="json"))


async def set_faults(simulator: Simulator, request: Request) -> Response:
    """Replace the fault settings: fields left out go back to their defaults."""
    settings = await _payload(request, FaultSettings)
    simulator.faults.replace(settings)
    return json_response(settings.model_dump(mode="json"))


async def mutate(simulator: Simulator, request: Request) -> Response:
    order = await _payload(request, MutateRequest)
    levels = None if order.levels is None else tuple(order.levels)
    report = simulator.dataset.mutate(order.add, order.change, order.remove, order.seed, levels)
    return json_response(report.to_json())


async def stats(simulator: Simulator, request: Request) -> Response:
    return json_response(simulator.stats.snapshot())


async def reset_stats(simulator: Simulator, request: Request) -> Response:
    simulator.stats.reset()
    return json_response(simulator.stats.snapshot())


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


def _guarded(
    simulator: Simulator, handler: ControlHandler
) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        try:
            simulator.require_auth(request)
            return await handler(simulator, request)
        except ApiError as error:
            return error.response()

    return serve


def control_routes(simulator: Simulator) -> list[Route]:
    routes: list[tuple[str, str, ControlHandler]] = [
        ("/_control/faults", "GET", get_faults),
        ("/_control/faults", "POST", set_faults),
        ("/_control/mutate", "POST", mutate),
        ("/_control/stats", "GET", stats),
        ("/_control/reset-stats", "POST", reset_stats),
    ]
    guarded = [
        Route(path, _guarded(simulator, handler), methods=[method])
        for path, method, handler in routes
    ]
    return [Route("/health", health, methods=["GET"]), *guarded]
