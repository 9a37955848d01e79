"""merged catalog and change feed: the catalog stores a merged body when several sources
contribute to a ref; every change of a merged entity (or its removal) takes a position in the
change feed, which replaces the unused ``needs_emit`` flag; records of a source with a TTL are
found by their expiry

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EXPIRY_INDEX = "ix_source_entities_expires_at"
TOMBSTONE_INDEX = "ix_change_feed_tombstones"


def upgrade() -> None:
    with op.batch_alter_table("source_entities") as batch:
        batch.drop_column("needs_emit")
        batch.add_column(
            sa.Column("merge_replace", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        EXPIRY_INDEX,
        "source_entities",
        ["expires_at"],
        postgresql_where=sa.text("expires_at IS NOT NULL"),
        sqlite_where=sa.text("expires_at IS NOT NULL"),
    )
    with op.batch_alter_table("catalog_entities") as batch:
        batch.add_column(sa.Column("body", JSONDocument, nullable=True))
        batch.add_column(sa.Column("conflict", sa.Text(), nullable=True))
    op.create_table(
        "change_feed",
        sa.Column("ref", sa.String(300), primary_key=True),
        sa.Column("position", Position, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_change_feed_position", "change_feed", ["position"], unique=True)
    op.create_index(
        TOMBSTONE_INDEX,
        "change_feed",
        ["changed_at"],
        postgresql_where=sa.text("content_hash IS NULL"),
        sqlite_where=sa.text("content_hash IS NULL"),
    )
    op.create_table(
        "feed_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_position", Position, nullable=False),
        sa.Column("purged_position", Position, nullable=False),
        sa.Column("durable_position", Position, nullable=False),
    )
    _backfill_feed()


def _backfill_feed() -> None:
    """Every entity already in the catalog enters the feed once, in ref order. (An empty feed
    has no state row yet: the first writer creates it.)"""
    op.execute(
        "INSERT INTO change_feed (ref, position, content_hash, changed_at) "
        "SELECT ref, ROW_NUMBER() OVER (ORDER BY ref), content_hash, updated_at "
        "FROM catalog_entities"
    )
    op.execute(
        "INSERT INTO feed_state (id, last_position, purged_position, durable_position) "
        "SELECT 1, COUNT(*), 0, COUNT(*) FROM change_feed HAVING COUNT(*) > 0"
    )


def downgrade() -> None:
    op.drop_table("feed_state")
    op.drop_index(TOMBSTONE_INDEX, table_name="change_feed")
    op.drop_index("ix_change_feed_position", table_name="change_feed")
    op.drop_table("change_feed")
    with op.batch_alter_table("catalog_entities") as batch:
        batch.drop_column("conflict")
        batch.drop_column("body")
    op.drop_index(EXPIRY_INDEX, table_name="source_entities")
    with op.batch_alter_table("source_entities") as batch:
        batch.drop_column("merge_replace")
        batch.add_column(
            sa.Column("needs_emit", sa.Boolean(), nullable=False, server_default=sa.true())
        )
