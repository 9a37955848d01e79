"""``ingest.detail``: a small group of deferred items (OpenChoreo services' detail calls)."""

from typing import Any

import structlog
from celery import shared_task

from catalog_ingest.engine.deferred_items import ChildStatus, resolve_child, wants_burst
from tasks.ingest import enqueue_burst
from workers import task_names
from workers.context import get_context

log = structlog.get_logger(__name__)


@shared_task(name=task_names.DETAIL, ignore_result=True, acks_late=True)
def detail(
    provider: str,
    ingestion_id: str,
    mark_id: int,
    dispatch: int,
    keys: list[str],
    **labels: str | list[str],
) -> dict[str, Any]:
    """Resolve the items under the provider's global request slots and record them; the child
    that records a page's last items commits the page. Labels only name the items for Flower.

    Acked late: a child lost with its worker is redelivered; one that never comes back is
    dispatched again by the provider's next burst after ``pending_page_timeout``.
    """
    context = get_context()
    runtime = context.runtime
    binding = runtime.engine.binding(provider)
    outcome = resolve_child(
        runtime.repository,
        binding,
        context.resolver(provider),
        mark_id,
        keys,
        runtime.engine.clock,
    )
    if outcome.status is ChildStatus.FINALIZED and wants_burst(runtime.repository, ingestion_id):
        enqueue_burst(provider)  # listing can go on (or the sweep can run) right away
    return {
        "provider": provider,
        "items": len(keys),
        "status": str(outcome.status),
        "fallbacks": outcome.fallbacks,
    }
