"""Real databases for tests: a scratch PostgreSQL database per test session, SQLite files.

PostgreSQL is required: when it cannot be reached the tests fail with the reason, never skip.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from migrations.runner import upgrade
from models.database import create_database_engine
from models.tables import Base

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


@contextmanager
def scratch_postgres_database(prefix: str = "ingest_test") -> Iterator[str]:
    """Create an empty database on the test server, yield its URL, drop it afterwards."""
    admin = create_database_engine(server_url(), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        raise RuntimeError(
            f"PostgreSQL is required for the tests and is not reachable at {server_url()!r} "
            f"(set DATABASE_URL, or start it: see README): {error}"
        ) from error
    url = make_url(server_url()).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_engine(url: str) -> Engine:
    engine = create_database_engine(url)
    upgrade(engine)
    return engine


def truncate_all(engine: Engine) -> None:
    """Empty every table of the models' metadata (``alembic_version`` is not one of them).

    PostgreSQL truncates them all in one statement; SQLite deletes children before parents.
    """
    tables = Base.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quote = engine.dialect.identifier_preparer.quote
            connection.execute(text(f"TRUNCATE {', '.join(quote(t.name) for t in tables)} CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
