"""``ingest.event``: one upstream event, applied under the provider's lock and a fresh fence."""

import random
from typing import Any

import structlog
from celery import Task, shared_task

from catalog_ingest.contracts.errors import StepStoppedError, UpstreamError, UserError
from catalog_ingest.contracts.locking import ProviderBusyError
from catalog_ingest.engine.event_delivery import deliver_event
from tasks.ingest import enqueue_burst
from workers import task_names
from workers.context import get_context

log = structlog.get_logger(__name__)

MAX_RETRIES = 12
"""Deliveries after the first; with the waits below, well over ten minutes in all."""
MAX_COUNTDOWN = 300.0
RETRIED = (ProviderBusyError, UpstreamError, StepStoppedError)
"""Nothing was written and a later delivery can succeed: the lock stayed held, upstream
failed, or the lock or fence was lost before the write."""


def countdown(retries: int) -> float:
    """Seconds before the next delivery: doubling from one, capped, with jitter."""
    return min(MAX_COUNTDOWN, 2.0**retries) * random.uniform(0.5, 1.0)


@shared_task(
    name=task_names.EVENT, bind=True, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES
)
def event(self: Task, provider: str, topic: str, payload: Any) -> dict[str, Any]:
    """Apply one event of ``provider`` (e.g. topic ``openchoreo``, payload ``{kind, name,
    namespace, action}``) and return what it changed.

    It waits up to one burst for the provider's lock rather than dropping the event, then is
    delivered again with a growing countdown (acked late: a delivery lost with its worker comes
    back). A malformed event or an unknown provider is rejected at once: delivering it again
    cannot help.
    """
    context = get_context()
    runtime = context.runtime
    try:
        limits = context.limits(provider)
        outcome = deliver_event(
            runtime.engine,
            runtime.lock,
            provider,
            topic,
            payload,
            ttl=limits.lock_ttl,
            wait=limits.soft,
        )
    except UserError as error:
        log.warning("event rejected", provider=provider, topic=topic, reason=str(error))
        return {"provider": provider, "topic": topic, "status": "rejected", "error": str(error)}
    except RETRIED as error:
        if self.request.retries >= MAX_RETRIES:
            log.error("event not applied", provider=provider, topic=topic, reason=str(error))
        else:
            log.info("event delivered again later", provider=provider, reason=str(error))
        raise self.retry(exc=error, countdown=countdown(self.request.retries)) from error
    _hand_over(provider)
    return outcome.summary()


def _hand_over(provider: str) -> None:
    """A burst that found the lock held by this event was dropped: send the due one now."""
    engine = get_context().runtime.engine
    due_at = engine.next_due(provider)
    if due_at is not None and due_at <= engine.clock.now():
        enqueue_burst(provider)
