"""One logging set-up for every process: structlog's, the engine's and other libraries' lines
share one format, carry the bound context, and have the configured secrets redacted."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from catalog_ingest.app.logging_setup import HANDLER_NAME, configure_logging
from catalog_ingest.engine import event_log
from catalog_ingest.engine.redaction import Redactor

SECRET = "zz-41-secret-value"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def _log_one_line_of_each_kind() -> None:
    structlog.contextvars.bind_contextvars(provider="p1", task_id="t-1")
    structlog.get_logger("catalog_ingest.providers.x").warning("upstream said", body=SECRET)
    event_log.get_logger("catalog_ingest.engine.x").warning("burst failed", error=SECRET)
    logging.getLogger("celery.app.trace").warning("Task failed: %s", SECRET)
    try:
        raise RuntimeError(f"boom {SECRET}")
    except RuntimeError:
        logging.getLogger("celery.worker").exception("unexpected")


def test_json_lines_from_structlog_the_engine_and_celery_share_one_redacted_format(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", Redactor([SECRET]), "json")
    _log_one_line_of_each_kind()
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]

    assert SECRET not in err
    assert [line["event"] for line in lines] == [
        "upstream said",
        "burst failed",
        "Task failed: ***",
        "unexpected",
    ]
    assert lines[0]["body"] == "***" and lines[1]["error"] == "***"
    assert "boom ***" in lines[3]["exception"]
    for line in lines:
        assert (line["provider"], line["task_id"], line["level"]) == ("p1", "t-1", line["level"])
        assert {"timestamp", "logger", "level"} <= set(line)


def test_console_lines_are_redacted_too_and_configuring_twice_keeps_one_handler(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", Redactor([SECRET]))
    configure_logging("INFO", Redactor([SECRET]))
    _log_one_line_of_each_kind()
    err = capsys.readouterr().err

    assert SECRET not in err
    assert len([line for line in err.splitlines() if "Task failed: ***" in line]) == 1
    assert "provider=p1" in err and "task_id=t-1" in err
    assert "error=***" in err


def test_chatty_libraries_stay_quiet_unless_debugging(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    logging.getLogger("httpx").info("HTTP Request: GET /x")
    logging.getLogger("alembic.runtime.migration").info("Context impl PostgresqlImpl.")
    assert capsys.readouterr().err == ""
    configure_logging("DEBUG")
    logging.getLogger("httpx").info("HTTP Request: GET /x")
    assert "HTTP Request" in capsys.readouterr().err
