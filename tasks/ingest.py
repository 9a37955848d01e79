"""``ingest.tick`` (cheap, from beat) and ``ingest.burst`` (one engine step under the lock)."""

from dataclasses import asdict
from typing import Any

import structlog
from celery import shared_task

from beat_schedule import tick_interval
from catalog_ingest.engine.outcome import TickAction, TickOutcome
from workers import task_names
from workers.context import get_context

log = structlog.get_logger(__name__)

BUSY = "busy"
"""What a burst returns when another worker holds the provider's lock."""

_FOLLOW_UP = {TickAction.RESUMED, TickAction.REST_COMPLETED, TickAction.CANCELED}
"""Steps after which the next one is due at once: enqueue it instead of waiting for beat."""


def _summary(outcome: TickOutcome) -> dict[str, Any]:
    data = asdict(outcome)
    data["action"] = str(outcome.action)
    data["next_action_at"] = outcome.next_action_at.isoformat() if outcome.next_action_at else None
    return data


def enqueue_burst(provider: str) -> str:
    """Send ``ingest.burst`` with the provider's time limits; returns the task id.

    Like a tick, the burst expires after one tick interval: when workers fall behind, a stale
    burst is dropped, and the next tick enqueues a fresh one if a step is still due.
    """
    context = get_context()
    limits = context.limits(provider)
    result = burst.apply_async(
        (provider,),
        soft_time_limit=limits.soft,
        time_limit=limits.hard,
        expires=tick_interval(context.runtime.engine.binding(provider).options),
    )
    return str(result.id)


@shared_task(name=task_names.TICK, ignore_result=True)
def tick(provider: str) -> dict[str, Any]:
    """Beat's heartbeat per provider: enqueue a burst when the next action is due.

    Acked early (the default): a tick lost with its worker is not worth redelivering, beat
    sends the next one within one interval.
    """
    engine = get_context().runtime.engine
    due_at = engine.next_due(provider)
    if due_at is None or due_at > engine.clock.now():
        return {"provider": provider, "action": str(TickAction.NOT_DUE)}
    return {"provider": provider, "action": "enqueued burst", "task_id": enqueue_burst(provider)}


@shared_task(name=task_names.BURST, ignore_result=True, acks_late=True)
def burst(provider: str) -> dict[str, Any]:
    """Run the provider's next step under its lock; return at once when the lock is taken."""
    context = get_context()
    lease = context.runtime.lock.try_acquire(provider, context.limits(provider).lock_ttl)
    if lease is None:
        return {"provider": provider, "action": BUSY}
    try:
        outcome = context.runtime.engine.tick(provider, lease=lease)
    finally:
        lease.release()
    if outcome.action in _FOLLOW_UP:
        enqueue_burst(provider)
    return _summary(outcome)
