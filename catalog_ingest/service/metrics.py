"""``GET /metrics``: Prometheus' text format, computed from the database at each scrape.

Each request reads one snapshot (a few aggregate queries, see :mod:`models.metrics_reads`) and
renders it through a fresh :class:`~prometheus_client.CollectorRegistry`: no process-global
gauge is kept, so every replica answers the same. Open unless ``api.open_metrics`` is false
(then the ``read`` scope). Celery's task metrics come from Flower's own ``/metrics``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from catalog_ingest.service.auth import guard, service_context
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ERROR_RESPONSES
from catalog_ingest.service.metric_families import SnapshotCollector

Context = Annotated[ServiceContext, Depends(service_context)]


def render(context: ServiceContext) -> bytes:
    """The text exposition of the database's current figures."""
    snapshot = context.runtime.repository.metrics_snapshot()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot, list(context.runtime.engine.providers)))
    return generate_latest(registry)


def metrics_router(open_: bool) -> APIRouter:
    """``GET /metrics``, open or behind ``read`` as the config says: built with the app so the
    OpenAPI document tells scrapers whether it takes a token."""
    router = APIRouter(tags=["metrics"])

    @router.get(
        "/metrics",
        response_class=Response,
        dependencies=guard("read", open_),
        responses={
            **({} if open_ else ERROR_RESPONSES),
            200: {
                "description": "Prometheus' text format (version 0.0.4).",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
        },
    )
    def metrics(context: Context) -> Response:
        """Per provider: status and phase, the current pass's figures, the last completed
        pass's, and the newest burst's start and end (see README "Metrics")."""
        return Response(render(context), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return router
