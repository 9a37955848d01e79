"""read API projection: the merged catalog's flattened, lower-cased key/values
(``catalog_search``), its refs (``catalog_search_entities``) and the feed position it has
applied (``catalog_search_state``), maintained from the change feed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY_VALUE_INDEX = "ix_catalog_search_key_value"
LOOKUP_INDEX = "ix_catalog_search_entities_lookup"
PAIR_STATISTICS = "catalog_search_key_value_pairs"


def upgrade() -> None:
    op.create_table(
        "catalog_search",
        sa.Column("ref", sa.String(300), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("ordinal", sa.Integer(), primary_key=True),
        sa.Column("value", sa.String(200), nullable=True),
        sa.Column("original_value", sa.String(200), nullable=True),
    )
    op.create_index(KEY_VALUE_INDEX, "catalog_search", ["key", "value", "ref", "original_value"])
    if op.get_bind().dialect.name == "postgresql":
        # Keys and values are far from independent (``kind`` = ``component`` is 90% of the
        # ``kind`` rows): without the pairs' frequencies the planner misjudges a filter by
        # orders of magnitude and sorts a whole filter instead of walking the order index.
        op.execute(f"CREATE STATISTICS {PAIR_STATISTICS} (mcv) ON key, value FROM catalog_search")
    op.create_table(
        "catalog_search_entities",
        sa.Column("ref", sa.String(300), primary_key=True),
        sa.Column("lookup", sa.String(300), nullable=False),
    )
    op.create_index(LOOKUP_INDEX, "catalog_search_entities", ["lookup"])
    op.create_table(
        "catalog_search_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", Position, nullable=False),
        sa.Column("purged_position", Position, nullable=False),
    )
    # Position 0: the projector reads the whole feed (every live ref has a row in it) once.
    op.execute("INSERT INTO catalog_search_state (id, position, purged_position) VALUES (1, 0, 0)")


def downgrade() -> None:
    op.drop_table("catalog_search_state")
    op.drop_index(LOOKUP_INDEX, table_name="catalog_search_entities")
    op.drop_table("catalog_search_entities")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {PAIR_STATISTICS}")
    op.drop_index(KEY_VALUE_INDEX, table_name="catalog_search")
    op.drop_table("catalog_search")
