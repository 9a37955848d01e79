"""Alembic environment: runs on the connection handed over by :mod:`migrations.runner`."""

from alembic import context
from sqlalchemy import Connection

from models.tables import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `ingest migrate` (migrations.runner.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
