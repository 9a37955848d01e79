"""mark entities without a foreign key: the per-row key check cost about 7% of a page

Mark entities go away with their ingestion through explicit deletes
(``models.ingestion_state.delete_ingestions``), in the same transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "ingestion_mark_entities"
POSTGRES_NAME = "ingestion_mark_entities_ingestion_id_fkey"
"""The name PostgreSQL gave the unnamed key of revision 0001."""
SQLITE_NAME = "fk_ingestion_mark_entities_ingestion_id"
"""SQLite keeps no name: batch mode names the reflected key after this convention."""
SQLITE_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def _key_name() -> str:
    return POSTGRES_NAME if op.get_bind().dialect.name == "postgresql" else SQLITE_NAME


def upgrade() -> None:
    with op.batch_alter_table(TABLE, naming_convention=SQLITE_CONVENTION) as batch:
        batch.drop_constraint(_key_name(), type_="foreignkey")


def downgrade() -> None:
    op.execute(f"DELETE FROM {TABLE} WHERE ingestion_id NOT IN (SELECT id FROM ingestions)")
    with op.batch_alter_table(TABLE, naming_convention=SQLITE_CONVENTION) as batch:
        batch.create_foreign_key(
            _key_name(), "ingestions", ["ingestion_id"], ["id"], ondelete="CASCADE"
        )
