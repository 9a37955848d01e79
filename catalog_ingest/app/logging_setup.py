"""Structured logging (structlog) with secrets redacted from every event."""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from catalog_ingest.engine.redaction import Redactor


class RedactSecrets:
    """structlog processor: redact every string value of the event."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self.redactor.redact(value)
        return event


def configure_logging(
    level: str = "INFO", redactor: Redactor | None = None, *, json: bool = False
) -> None:
    """Send structured logs to stderr at ``level``; JSON lines when ``json`` (for collectors)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            RedactSecrets(redactor or Redactor()),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
