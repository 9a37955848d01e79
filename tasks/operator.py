"""Operator tasks on the ``admin`` queue: they change ingestion state, then enqueue a burst."""

from typing import Any

from celery import shared_task

from catalog_ingest.engine import admin_operations
from tasks.ingest import enqueue_burst
from workers import task_names
from workers.context import get_context


def _act(action: admin_operations.AdminAction, provider: str) -> admin_operations.AdminResult:
    """Apply an operator action to a configured provider."""
    runtime = get_context().runtime
    runtime.engine.binding(provider)  # an unknown provider fails here, before any write
    return action(runtime.repository, provider, runtime.engine.clock.now())


def _act_then_burst(action: admin_operations.AdminAction, provider: str) -> dict[str, Any]:
    """Apply an operator action to a configured provider, then enqueue its burst."""
    result = _act(action, provider)
    return {
        "provider": result.provider,
        "message": result.message,
        "burst_task_id": enqueue_burst(result.provider),
    }


@shared_task(name=task_names.TRIGGER, ignore_result=True, acks_late=True)
def trigger(provider: str) -> dict[str, Any]:
    """Make the provider's next action due now (un-pausing it) and run it."""
    return _act_then_burst(admin_operations.trigger, provider)


@shared_task(name=task_names.START, ignore_result=True, acks_late=True)
def start(provider: str) -> dict[str, Any]:
    """Begin a new pass now: cancel the running one or end the rest."""
    return _act_then_burst(admin_operations.start, provider)


@shared_task(name=task_names.RESET, ignore_result=True, acks_late=True)
def reset(provider: str) -> dict[str, Any]:
    """Forget the provider's ingestion state (catalog kept) and start a fresh pass."""
    return _act_then_burst(admin_operations.reset, provider)


@shared_task(name=task_names.CANCEL, ignore_result=True, acks_late=True)
def cancel(provider: str) -> dict[str, Any]:
    """Stop the running pass; the provider stays idle for a day or until triggered."""
    result = _act(admin_operations.cancel, provider)
    return {"provider": result.provider, "message": result.message}


@shared_task(name=task_names.CLEANUP, ignore_result=True, acks_late=True)
def cleanup() -> list[dict[str, Any]]:
    """Purge every provider's ingestion state; all stay paused until triggered."""
    runtime = get_context().runtime
    results = admin_operations.cleanup(
        runtime.repository, list(runtime.engine.providers), runtime.engine.clock.now()
    )
    return [{"provider": r.provider, "message": r.message} for r in results]
