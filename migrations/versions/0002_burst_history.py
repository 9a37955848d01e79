"""burst history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingestion_bursts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ingestion_id", sa.String(length=36), nullable=False),
        sa.Column("provider_name", sa.String(length=63), nullable=False),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("entities", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["ingestion_id"], ["ingestions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_bursts_provider_started", "ingestion_bursts", ["provider_name", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_bursts_provider_started", table_name="ingestion_bursts")
    op.drop_table("ingestion_bursts")
