"""kept refs: a deferred item resolved in a degraded way names the components whose previous
APIs the pass carries forward (a partial failure removes nothing)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("ingestion_deferred") as batch:
        batch.add_column(sa.Column("keep_refs_of", JSONDocument, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingestion_deferred") as batch:
        batch.drop_column("keep_refs_of")
