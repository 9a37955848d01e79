"""The Celery application: broker, queues, routing, reliability settings, beat schedule."""

from typing import Any

from celery import Celery

from beat_schedule import build_beat_schedule, upkeep_schedule
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.app.config.schema import AppConfig
from workers import signals, task_names
from workers.limits import BurstLimits, DetailLimits, check_visibility_timeout
from workers.queues import INGEST_QUEUE, TASK_QUEUES, TASK_ROUTES
from workers.worker_settings import WorkerSettings

TASK_MODULES = (
    "tasks.ingest",
    "tasks.details",
    "tasks.operator",
    "tasks.events",
    "tasks.expiry",
    "tasks.projection",
)


def celery_settings(config: AppConfig, settings: WorkerSettings) -> dict[str, Any]:
    limits = [
        BurstLimits.for_options(provider.options, settings.time_limit_margin)
        for provider in config.all_providers()
    ]
    detail = DetailLimits.for_settings(settings.detail_time_limit, settings.time_limit_margin)
    check_visibility_timeout(limits, settings.visibility_timeout, detail)
    return {
        "task_annotations": default_time_limits(limits, detail),
        "broker_url": settings.broker_url or config.redis_url,
        # Nothing reads task results (state lives in PostgreSQL): no result backend at all.
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_queues": TASK_QUEUES,
        "task_default_queue": INGEST_QUEUE,
        "task_routes": TASK_ROUTES,
        # Long tasks: a worker reserves one message at a time, so a busy process never sits
        # on ticks another process could run.
        "worker_prefetch_multiplier": 1,
        # Bursts are acked late (per task): an operator's admin task lost with its worker is
        # redelivered rather than forgotten; see tasks/ for which tasks opt in.
        "task_reject_on_worker_lost": True,
        # Redis redelivers unacked messages after this; it must outlive every lock TTL.
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "broker_connection_retry_on_startup": True,
        # Flower sees every task, including when it was sent.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {**build_beat_schedule(config), **upkeep_schedule()},
        "imports": TASK_MODULES,
    }


def default_time_limits(
    limits: list[BurstLimits], detail: DetailLimits
) -> dict[str, dict[str, float]]:
    """Time limits of bursts and detail tasks sent without their own (``celery call``, Flower).

    The engine's own sends carry each provider's limits. A burst sent by hand gets the
    longest provider's: a hanging page is still cut short, and the lock, renewed while the
    task lives, still expires one TTL after a killed worker.
    """
    defaults = {task_names.DETAIL: {"soft_time_limit": detail.soft, "time_limit": detail.hard}}
    if limits:
        longest = max(limits, key=lambda limit: limit.hard)
        defaults[task_names.BURST] = {"soft_time_limit": longest.soft, "time_limit": longest.hard}
    return defaults


def create_app(
    config: AppConfig | None = None, settings: WorkerSettings | None = None, **overrides: Any
) -> Celery:
    """A configured Celery app; ``overrides`` win (the embedded mode's in-memory broker)."""
    config = config or load_config()
    settings = settings or WorkerSettings()
    signals.connect()
    app = Celery("catalog_ingest")
    app.conf.update({**celery_settings(config, settings), **overrides})
    return app
