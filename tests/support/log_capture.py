"""Capture the log events of a block, from structlog (providers, workers) and from the engine
(standard-library records with key-value fields), as dicts in the order they were logged."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog.testing

from catalog_ingest.engine.event_log import fields_of


class _EngineEvents(logging.Handler):
    def __init__(self, events: list[Any]) -> None:
        super().__init__(logging.DEBUG)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(
            {"event": record.getMessage(), "log_level": record.levelname.lower()}
            | fields_of(record)
        )


@contextmanager
def captured_events() -> Iterator[list[Any]]:
    """``event`` and fields of every line logged in the block (``log_level`` too)."""
    root = logging.getLogger()
    level = root.level
    with structlog.testing.capture_logs() as events:
        handler = _EngineEvents(events)
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            yield events
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
