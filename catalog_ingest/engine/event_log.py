"""Key-value log events on the standard library's ``logging``: ``log.warning("event", k=v)``.

The engine logs through the standard library rather than a logging package, so importing it
loads nothing the process did not ask for (structlog pulls in ``rich`` when it is installed).
The fields travel on the record (:data:`FIELDS`); the application's formatter
(``catalog_ingest.app.logging_setup``) renders them, redacted, in the process's one format.
"""

import logging
from collections.abc import Mapping
from typing import Any

FIELDS = "event_fields"
"""Attribute of a ``logging.LogRecord`` holding the event's key-value fields."""


class EventLogger:
    """A named logger whose methods take an event name and key-value fields."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def _log(self, level: int, event: str, fields: Mapping[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            # stacklevel 3: the record names the engine's line, not this module's.
            self._logger.log(level, event, extra={FIELDS: dict(fields)}, stacklevel=3)


def get_logger(name: str) -> EventLogger:
    return EventLogger(name)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The key-value fields of an engine event (empty for other records)."""
    fields = getattr(record, FIELDS, None)
    return dict(fields) if isinstance(fields, Mapping) else {}
