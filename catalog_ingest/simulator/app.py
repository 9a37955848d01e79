"""The simulator's ASGI app: Starlette, so every response body is exactly the contract's."""

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from catalog_ingest.simulator.api import api_routes
from catalog_ingest.simulator.api_errors import ApiError
from catalog_ingest.simulator.control import control_routes
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.state import Simulator, SimulatorConfig

ROUTE_ERRORS = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def create_app(dataset: Dataset, config: SimulatorConfig | None = None) -> Starlette:
    """An app serving ``dataset``; its state is reachable as ``app.state.simulator``."""
    simulator = Simulator(dataset, config or SimulatorConfig())

    async def route_error(request: Request, error: Exception) -> Response:
        """Unknown paths and methods, in the API's error shape (after the auth check)."""
        try:
            if request.url.path != "/health":
                simulator.require_auth(request)
        except ApiError as denied:
            return denied.response()
        status = error.status_code if isinstance(error, HTTPException) else 500
        code = ROUTE_ERRORS.get(status, "INTERNAL_ERROR")
        message = f"no route for {request.method} {request.url.path}"
        return ApiError(status, code, message if status in ROUTE_ERRORS else "error").response()

    app = Starlette(
        routes=[*api_routes(simulator), *control_routes(simulator)],
        exception_handlers={HTTPException: route_error},
    )
    app.state.simulator = simulator
    return app


def simulator_of(app: Starlette) -> Simulator:
    """The state behind an app made by :func:`create_app` (typed access for tests)."""
    simulator: Simulator = app.state.simulator
    return simulator
