"""duplicate counter: entities dropped because their ref was already emitted in the pass

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingestions") as batch:
        batch.add_column(
            sa.Column("duplicates", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("ingestions") as batch:
        batch.drop_column("duplicates")
