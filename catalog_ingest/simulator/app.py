"""The simulator's ASGI app: Starlette, so every response body is exactly the contract's."""

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog_ingest.simulator.api import org_routes
from catalog_ingest.simulator.api_errors import ApiError
from catalog_ingest.simulator.control import control_routes
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.namespace_api import namespace_routes
from catalog_ingest.simulator.namespace_errors import namespace_response
from catalog_ingest.simulator.serving import PREFIX
from catalog_ingest.simulator.state import Simulator, SimulatorConfig

ROUTE_ERRORS = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def api_routes(simulator: Simulator) -> list[Route]:
    """The routes of the generations ``simulator.config.api`` selects."""
    api = simulator.config.api
    routes = namespace_routes(simulator) if api in ("namespaces", "both") else []
    return routes + (org_routes(simulator) if api in ("orgs", "both") else [])


def _speaks_namespaces(simulator: Simulator, path: str) -> bool:
    """Whether an unrouted path answers in the namespace era's error shape: under
    ``/namespaces`` always (served or not), elsewhere when only that era is served."""
    if path == PREFIX + "/namespaces" or path.startswith(PREFIX + "/namespaces/"):
        return True
    org_path = path == PREFIX + "/orgs" or path.startswith(PREFIX + "/orgs/")
    return simulator.config.api == "namespaces" and not org_path


def create_app(dataset: Dataset, config: SimulatorConfig | None = None) -> Starlette:
    """An app serving ``dataset``; its state is reachable as ``app.state.simulator``."""
    simulator = Simulator(dataset, config or SimulatorConfig())

    async def route_error(request: Request, error: Exception) -> Response:
        """Unknown paths and methods, in the API's error shape (after the auth check): routes
        of a generation that is not served answer 404 in that generation's shape."""
        path = request.url.path
        render = namespace_response if _speaks_namespaces(simulator, path) else ApiError.response
        try:
            if path != "/health":
                simulator.require_auth(request)
        except ApiError as denied:
            return render(denied)
        status = error.status_code if isinstance(error, HTTPException) else 500
        code = ROUTE_ERRORS.get(status, "INTERNAL_ERROR")
        message = f"no route for {request.method} {path}"
        return render(ApiError(status, code, message if status in ROUTE_ERRORS else "error"))

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
