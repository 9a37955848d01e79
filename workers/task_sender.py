"""Sending operator and event tasks from outside a worker (the CLI, the HTTP service)."""

from celery import Celery

from catalog_ingest.app.config.schema import AppConfig
from workers.celery_app import create_app

PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5}
"""Fail within seconds when the broker is down, instead of retrying forever."""


class TaskSender:
    """Publishes tasks by name to the configured broker; built once, reused per send."""

    def __init__(self, config: AppConfig, app: Celery | None = None) -> None:
        self.app = app or create_app(config)

    def send(self, task: str, args: tuple[object, ...] = ()) -> str:
        """Send ``task`` with ``args``; returns the task id."""
        result = self.app.send_task(task, args=args, retry=True, retry_policy=PUBLISH_RETRY)
        return str(result.id)
