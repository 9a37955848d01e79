"""Database engines for PostgreSQL (psycopg 3) and SQLite (the embedded mode)."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from catalog_ingest.contracts.errors import UserError


class DatabaseURLError(UserError, ValueError):
    """A database URL this project cannot use."""


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and route them to psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception as error:
        # Neither the URL nor make_url's message (which repeats it) is shown: the password
        # would be.
        raise DatabaseURLError(
            "not a database URL: use postgresql://user@host:5432/db or sqlite:///path.db"
        ) from error
    backend = parsed.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return url
    raise DatabaseURLError(
        f"unsupported database {backend!r}: use postgresql://... or sqlite:///path.db"
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Cascading deletes of marks rely on foreign keys; WAL lets readers (status, export) work
    # while a burst writes; busy_timeout turns lock contention into waiting, not errors.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
"""PostgreSQL ends a session left idle inside a transaction this long. Every transaction of
this project is short and never waits on anything but the database; one left idle belongs to
a frozen process (SIGSTOP, a stuck VM) and may hold an ingestion's row lock, on which every
other worker's burst of that provider would wait for as long as the freeze lasts."""


def create_database_engine(
    url: str, *, idle_in_transaction_ms: int = IDLE_IN_TRANSACTION_TIMEOUT_MS, **kwargs: Any
) -> Engine:
    """An engine with the per-backend settings this project relies on."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    connect_args = kwargs.setdefault("connect_args", {})
    # jit=off: the per-page statements probe one index per ref of a page (lateral joins), and
    # without planner statistics their estimated cost passes jit_above_cost, so PostgreSQL
    # compiled each of them to machine code: some 60 ms of a page's 80 ms merge statement, to
    # save microseconds. No statement of this project scans enough rows to win it back.
    connect_args.setdefault(
        "options", f"-c idle_in_transaction_session_timeout={idle_in_transaction_ms} -c jit=off"
    )
    if kwargs.get("poolclass") is None and kwargs.get("isolation_level") != "AUTOCOMMIT":
        # A threads pool on the details queue runs many tasks at once in one process: a pool
        # smaller than its concurrency would make them queue for connections.
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 40)
    return create_engine(url, **kwargs)
