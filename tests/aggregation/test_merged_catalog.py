"""The merged catalog on PostgreSQL and SQLite: per ref, the live records of every source
merged by priority; a ref only one source has stays a pointer to its record (no body copy);
a write re-merges only the refs it touched."""

from datetime import timedelta

import sqlalchemy as sa

from catalog_ingest.aggregation.resolution import MAX_MERGED_BYTES
from models.catalog_reads import iter_entities
from models.sql_repository import SqlRepository
from models.tables import catalog_entities
from tests.aggregation.merge_support import T0, entity, merged, ref, write


def stored_bodies(db: sa.Engine) -> dict[str, bool]:
    """ref -> whether the catalog row stores a merged body (else it points at a record)."""
    with db.connect() as connection:
        rows = connection.execute(
            sa.select(catalog_entities.c.ref, catalog_entities.c.body.is_not(None))
        )
        return {row[0]: bool(row[1]) for row in rows}


def test_when_sources_disagree_on_an_annotation_the_highest_priority_wins(
    repository: SqlRepository, db: sa.Engine
) -> None:
    """The reference's defect 1: there the LOWEST priority's annotation won."""
    write(repository, "low", [entity("a", annotations={"team": "low"})], priority=1)
    write(repository, "high", [entity("a", annotations={"team": "high"})], priority=9)
    write(repository, "mid", [entity("a", annotations={"team": "mid", "extra": "m"})], priority=5)
    body = merged(repository, "a")
    assert body is not None
    assert body["metadata"]["annotations"]["team"] == "high"
    assert body["metadata"]["annotations"]["extra"] == "m"
    assert body["metadata"]["annotations"]["backstage.io/managed-by-location"] == "provider:high"
    [exported] = list(iter_entities(db))
    assert exported == body


def test_a_ref_one_source_holds_is_a_pointer_and_a_second_source_stores_the_merge(
    repository: SqlRepository, db: sa.Engine
) -> None:
    write(repository, "one", [entity("a", title="one"), entity("b")])
    assert stored_bodies(db) == {ref("a"): False, ref("b"): False}
    write(repository, "two", [entity("a", description="two")], priority=-1)
    assert stored_bodies(db) == {ref("a"): True, ref("b"): False}
    body = merged(repository, "a")
    assert body is not None and body["metadata"]["title"] == "one"
    assert body["metadata"]["description"] == "two"
    write(repository, "two", [], removed=[ref("a")])
    assert stored_bodies(db) == {ref("a"): False, ref("b"): False}
    body = merged(repository, "a")
    assert body is not None and "description" not in body["metadata"]


def test_a_replace_source_ranked_first_is_the_entity_whole(repository: SqlRepository) -> None:
    write(repository, "deep", [entity("a", description="deep")], priority=1)
    write(repository, "whole", [entity("a", title="whole")], priority=5, replace=True)
    body = merged(repository, "a")
    assert body is not None and "description" not in body["metadata"]
    write(repository, "deep", [entity("a", description="deep")], priority=9)
    body = merged(repository, "a")
    assert body is not None and "title" not in body["metadata"]


def test_a_merge_that_would_break_the_entity_keeps_the_previous_one_and_says_why(
    repository: SqlRepository,
) -> None:
    half = "x" * (MAX_MERGED_BYTES // 2 + 10)
    write(repository, "low", [entity("a", annotations={"a": "1"})], priority=1)
    write(repository, "high", [entity("a", annotations={"big": half})], priority=2)
    before = repository.catalog_entry(ref("a"))
    assert before is not None and before.conflict is None
    write(repository, "low", [entity("a", annotations={"big-too": half})], priority=1)
    after = repository.catalog_entry(ref("a"))
    assert after is not None
    assert after.entity == before.entity and after.content_hash == before.content_hash
    assert after.conflict is not None and "bytes of JSON" in after.conflict
    write(repository, "low", [entity("a", annotations={"a": "1"})], priority=1)
    fixed = repository.catalog_entry(ref("a"))
    assert fixed is not None and fixed.conflict is None
    assert fixed.entity is not None and fixed.entity["metadata"]["annotations"]["big"] == half


def test_a_write_re_merges_only_the_refs_it_touched(
    repository: SqlRepository, db: sa.Engine
) -> None:
    names = [f"e{i}" for i in range(20)]
    write(repository, "one", [entity(n) for n in names], priority=1)
    write(repository, "two", [entity(n, title="two") for n in names], priority=0)
    later = T0 + timedelta(hours=1)
    write(repository, "two", [entity("e3", title="changed")], now=later)
    with db.connect() as connection:
        touched = connection.execute(
            sa.select(catalog_entities.c.ref).where(catalog_entities.c.updated_at == later)
        ).scalars()
        assert list(touched) == [ref("e3")]
