"""Worker signals: logging in this project's format, and each task's log context.

Connected once per process when the app is built (``workers.celery_app``).

- ``setup_logging``: Celery asks whether anyone configures logging before it installs its own
  handlers. We do: the same redacting handler and format as the command line, with the
  configured secrets, so Celery's lines and ours look alike and neither leaks a token.
- ``task_prerun`` / ``task_postrun``: every line a task logs, ours and Celery's, carries the
  task's id and name and, for tasks about one provider, its name (structlog context vars).
- ``worker_process_init`` and the same two: a soft time limit signal that reaches a pool
  child between tasks is logged and ignored instead of killing it (``stray_time_limits``).
"""

from typing import Any

import structlog
from celery.signals import setup_logging, task_postrun, task_prerun

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.engine.redaction import Redactor
from workers import stray_time_limits

_UID = "catalog-ingest"


def configure_worker_logging(**_: Any) -> None:
    """Celery's ``setup_logging``: the configured level and format, the configured secrets."""
    config = load_config()
    configure_logging(config.log_level, Redactor(config.secrets()), config.log_format)


def bind_task_context(
    task_id: str | None = None,
    task: Any = None,
    args: tuple[Any, ...] | list[Any] | None = None,
    **_: Any,
) -> None:
    """Before a task runs: its id, its name and (first argument) its provider."""
    structlog.contextvars.clear_contextvars()
    context: dict[str, Any] = {"task_id": task_id, "task": getattr(task, "name", None)}
    if args and isinstance(args[0], str):
        context["provider"] = args[0]
    structlog.contextvars.bind_contextvars(**context)


def clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


def connect() -> None:
    """Connect the receivers (idempotent: one connection per process whatever the apps)."""
    setup_logging.connect(configure_worker_logging, weak=False, dispatch_uid=f"{_UID}:logging")
    task_prerun.connect(bind_task_context, weak=False, dispatch_uid=f"{_UID}:bind")
    task_postrun.connect(clear_task_context, weak=False, dispatch_uid=f"{_UID}:clear")
    stray_time_limits.connect()
