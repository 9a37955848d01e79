"""deferred pages: pages waiting for detail calls fanned out as child tasks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("ingestions") as batch:
        batch.add_column(
            sa.Column("fallbacks", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("ingestion_marks") as batch:
        batch.add_column(sa.Column("deferred", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("dispatch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("staged", JSONDocument, nullable=True))
        batch.add_column(sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "ingestion_deferred",
        sa.Column("mark_id", AutoId, nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ingestion_id", sa.String(length=36), nullable=False),
        sa.Column("payload", JSONDocument, nullable=False),
        sa.Column("labels", JSONDocument, nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entities", JSONDocument, nullable=True),
        sa.Column("fallback", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["mark_id"], ["ingestion_marks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mark_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("ingestion_deferred")
    with op.batch_alter_table("ingestion_marks") as batch:
        for column in (
            "finalized_at",
            "staged",
            "dispatched_at",
            "dispatch",
            "deferred",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("ingestions") as batch:
        batch.drop_column("fallbacks")
