"""The ASGI application of the HTTP service."""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from catalog_ingest.service import (
    events_ingress,
    feed_routes,
    management,
    metrics,
    push_routes,
    read_api,
)
from catalog_ingest.service.auth import guard
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import install_error_handlers

TITLE = "catalog-ingest"


def create_app(context: ServiceContext) -> FastAPI:
    """The service over ``context`` (its runtime is closed by the caller)."""
    app = FastAPI(
        title=TITLE,
        summary="Incremental catalog ingestion: management, events, metrics.",
        version="1",
        # Nothing but /health and /metrics is open: the document is served below, with the
        # `read` scope, and there is no browsable /docs page (it could not send a token).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = context
    install_error_handlers(app)
    app.include_router(management.health_router(context.config.api.open_health))
    app.include_router(management.router)
    app.include_router(events_ingress.router)
    app.include_router(push_routes.router)
    app.include_router(feed_routes.router)
    app.include_router(read_api.router)
    app.include_router(metrics.metrics_router(context.config.api.open_metrics))
    _serve_openapi_document(app)
    return app


def _serve_openapi_document(app: FastAPI) -> None:
    """``GET /openapi.json`` behind the ``read`` scope."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard("read"))
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())
