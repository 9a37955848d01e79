"""The few places where PostgreSQL and SQLite need different SQL."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, Table, any_, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnClause


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def skip_flush_wait(connection: Connection) -> None:
    """Let the current transaction commit without waiting for its WAL to reach the disk.

    Only for transactions whose loss in a server crash is harmless because they are redone:
    the database stays consistent (a crash loses the newest commits, whole and in order), and
    any later ordinary commit makes them durable. A no-op on SQLite.
    """
    if is_postgres(connection):
        connection.execute(text("SET LOCAL synchronous_commit = off"))


def driver_cursor(connection: Connection) -> Any:
    """A psycopg cursor inside the SQLAlchemy connection's transaction, for the hot statements
    that need binary array parameters (``%b``); use as a context manager."""
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - only on a closed connection
        raise RuntimeError("the database connection is closed")
    return driver.cursor()


def upsert_for(connection: Connection, table: Table) -> Any:
    """``INSERT`` construct with ``ON CONFLICT`` support for the connection's dialect."""
    if is_postgres(connection):
        return postgresql.insert(table)
    return sqlite.insert(table)


def column_in(
    connection: Connection, column: ColumnElement[str] | ColumnClause[str], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column IN values``: one array parameter on PostgreSQL, expanded params on SQLite."""
    if is_postgres(connection):
        array = bindparam("values_array", list(values), type_=postgresql.ARRAY(String()))
        return column == any_(array)
    return column.in_(list(values))
