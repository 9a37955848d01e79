"""``truncate_all`` (which empties the shared PostgreSQL database between tests) cleans every
table of the models' metadata, by name, and keeps the migrations' record."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event

from migrations.runner import current_revision, head_revision
from models.tables import Base
from tests.support.databases import truncate_all

TABLES = Base.metadata.sorted_tables
AT = datetime(2024, 1, 1, tzinfo=UTC)
INGESTION = "00000000-0000-0000-0000-000000000001"
REF = "component:default/cleanup"
BODY = {"kind": "Component", "metadata": {"name": "cleanup"}}

ONE_ROW: dict[str, dict[str, Any]] = {
    "ingestions": {
        "id": INGESTION,
        "provider_name": "synth",
        "status": "bursting",
        "next_action": "ingest",
        "next_action_at": AT,
        "created_at": AT,
        "updated_at": AT,
        "completion_ticket": "open",
        "phase": "walk",
    },
    "ingestion_marks": {"id": 1, "ingestion_id": INGESTION, "sequence": 1, "created_at": AT},
    "ingestion_deferred": {
        "mark_id": 1,
        "key": "detail-1",
        "position": 0,
        "ingestion_id": INGESTION,
        "payload": {"item": 1},
        "labels": {},
    },
    "ingestion_mark_entities": {"ingestion_id": INGESTION, "ref": REF, "mark_id": 1},
    "ingestion_bursts": {
        "ingestion_id": INGESTION,
        "provider_name": "synth",
        "fence": 1,
        "worker": "worker@test",
        "started_at": AT,
    },
    "source_entities": {
        "source": "synth",
        "ref": REF,
        "kind": "component",
        "namespace": "default",
        "name": "cleanup",
        "body": BODY,
        "content_hash": "0" * 64,
        "created_at": AT,
        "updated_at": AT,
    },
    "catalog_entities": {
        "ref": REF,
        "source": "synth",
        "content_hash": "0" * 64,
        "priority": 0,
        "updated_at": AT,
    },
    "change_feed": {"ref": REF, "position": 1, "content_hash": "0" * 64, "changed_at": AT},
    "feed_state": {"id": 1, "last_position": 1, "purged_position": 0, "durable_position": 1},
    "catalog_search": {
        "ref": REF,
        "key": "kind",
        "ordinal": 0,
        "value": "component",
        "original_value": "Component",
    },
    "catalog_search_entities": {"ref": REF, "lookup": REF},
    "catalog_search_state": {"id": 1, "position": 1, "purged_position": 0},
}
"""A row for each table of the metadata, in any order (they are inserted parents first)."""


def row_counts(db: Engine) -> dict[str, int]:
    counted = {table.name: sa.select(sa.func.count()).select_from(table) for table in TABLES}
    with db.connect() as connection:
        return {name: connection.execute(query).scalar_one() for name, query in counted.items()}


@contextmanager
def statements_of(db: Engine) -> Iterator[list[str]]:
    """The SQL statements ``db`` sends while the block runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(db, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db, "before_cursor_execute", record)


def test_every_table_of_the_metadata_has_a_row_here() -> None:
    assert set(ONE_ROW) == set(Base.metadata.tables), "give each new table a row in ONE_ROW"


def test_truncate_all_empties_every_table_of_the_metadata(db: Engine) -> None:
    with db.begin() as connection:
        for table in reversed(TABLES):  # rows a migration seeded (the projection's state) go
            connection.execute(table.delete())
        for table in TABLES:
            connection.execute(table.insert().values(ONE_ROW[table.name]))
    assert all(count == 1 for count in row_counts(db).values()), row_counts(db)

    with statements_of(db) as sent:
        truncate_all(db)

    assert row_counts(db) == dict.fromkeys(Base.metadata.tables, 0)
    not_named = [
        name
        for name in Base.metadata.tables
        if not any(re.search(rf'\b"?{name}"?\b', statement) for statement in sent)
    ]
    assert not_named == [], f"cleaned only by a cascade, if at all: {not_named}\n{sent}"
    assert current_revision(db) == head_revision(), "alembic_version must be kept"
