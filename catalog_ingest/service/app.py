"""The ASGI application of the HTTP service."""

from fastapi import FastAPI

from catalog_ingest.service import (
    events_ingress,
    feed_routes,
    management,
    metrics,
    push_routes,
    read_api,
)
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import install_error_handlers

TITLE = "catalog-ingest"


def create_app(context: ServiceContext) -> FastAPI:
    """The service over ``context`` (its runtime is closed by the caller)."""
    app = FastAPI(
        title=TITLE,
        summary="Incremental catalog ingestion: management, events, metrics.",
        version="1",
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
    return app
