"""Logging of every process: one format for structlog's, the engine's and Celery's lines, with
the configured secrets redacted from all of them.

structlog hands its events to the standard library, and the one handler on the root logger
renders every record (structlog's, the engine's key-value events, Celery's and other
libraries' plain lines) through the same processors: context variables bound to the task
(``provider``, ``task_id``), level, timestamp, then redaction, then the renderer
(``log_format``: ``console`` lines or ``json`` objects). Exceptions are formatted before
redaction, so a traceback cannot leak what a message would not.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor

from catalog_ingest.engine.event_log import fields_of
from catalog_ingest.engine.redaction import Redactor

LogFormat = Literal["console", "json"]
HANDLER_NAME = "catalog-ingest"
"""Our handler on the root logger: replaced, never duplicated, when logging is configured
again (a worker process configures it at start and again when its context is built)."""

_PLAIN = (int, float, bool, type(None))

CHATTY_LIBRARIES = ("alembic", "httpx", "httpcore")
"""Libraries that log every migration check or HTTP request at INFO: shown at DEBUG only."""


class RedactSecrets:
    """structlog processor: redact every value of the event (non-strings as their text)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self.redactor.redact(value)
            elif not isinstance(value, _PLAIN):
                event[key] = self.redactor.redact(str(value))
        return event


def add_event_fields(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """The key-value fields of an engine event (``catalog_ingest.engine.event_log``)."""
    record = event.get("_record")
    if isinstance(record, logging.LogRecord):
        for key, value in fields_of(record).items():
            event.setdefault(key, value)
    return event


def _renderer(log_format: LogFormat) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=False)


def _formatter(redactor: Redactor, log_format: LogFormat) -> logging.Formatter:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, add_event_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            RedactSecrets(redactor),
            _renderer(log_format),
        ],
    )


def configure_logging(
    level: str = "INFO", redactor: Redactor | None = None, log_format: LogFormat = "console"
) -> None:
    """Send every log line of this process to stderr at ``level``, redacted, in one format."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(_formatter(redactor or Redactor(), log_format))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric)
    quiet = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    for library in CHATTY_LIBRARIES:
        logging.getLogger(library).setLevel(quiet)
