"""The change feed on PostgreSQL and SQLite: every real change of a merged entity (or its
removal) takes a position at once; unchanged writes take none; a ref's latest change replaces
its earlier one; tombstones outlive their window only as a relist for readers behind it."""

from datetime import timedelta

from catalog_ingest.contracts.storage import PageWrite
from catalog_ingest.engine.entity_preparation import prepare_entity
from models.sql_repository import SqlRepository
from tests.aggregation.merge_support import T0, entity, read_all, ref, write


def test_a_brand_new_entity_from_a_page_commit_is_in_the_feed_at_once(
    repository: SqlRepository,
) -> None:
    """The reference's defect 2: on PostgreSQL a new record was never flagged for emission."""
    ingestion = repository.open_ingestion("pages", T0)
    fence = repository.take_fence(ingestion.id)
    page = PageWrite([prepare_entity(entity("fresh"), "pages")], cursor=None, done=False)
    repository.commit_page(ingestion, fence, page, T0)
    [change] = read_all(repository)
    assert change.ref == ref("fresh")
    assert change.entity is not None and change.entity["metadata"]["name"] == "fresh"


def test_only_real_changes_take_positions_and_a_ref_keeps_only_its_latest(
    repository: SqlRepository,
) -> None:
    write(repository, "s", [entity("a"), entity("b")])
    first = read_all(repository)
    assert [c.ref for c in first] == [ref("a"), ref("b")]
    head = first[-1].position
    write(repository, "s", [entity("a"), entity("b")], now=T0 + timedelta(minutes=1))
    write(repository, "s", [entity("a")], priority=7)  # one source: same merged entity
    assert read_all(repository, head) == []
    write(repository, "s", [entity("a", title="new")])
    [change] = read_all(repository, head)
    assert change.ref == ref("a") and change.position > head
    assert change.entity is not None and change.entity["metadata"]["title"] == "new"
    assert [c.ref for c in read_all(repository)] == [ref("b"), ref("a")]


def test_a_removal_is_a_tombstone_and_a_lower_source_taking_over_is_a_change(
    repository: SqlRepository,
) -> None:
    write(repository, "high", [entity("a", title="high"), entity("b")], priority=2)
    write(repository, "low", [entity("a", title="low", description="low")], priority=1)
    head = read_all(repository)[-1].position
    write(repository, "high", [], removed=[ref("a"), ref("b")])
    changes = {c.ref: c.entity for c in read_all(repository, head)}
    assert changes[ref("b")] is None
    taken_over = changes[ref("a")]
    assert taken_over is not None and taken_over["metadata"]["title"] == "low"


def test_a_reader_that_crashes_before_storing_its_position_loses_nothing(
    repository: SqlRepository,
) -> None:
    write(repository, "s", [entity(f"e{i}") for i in range(7)])
    applied: dict[str, object] = {}
    position = 0
    batch = repository.read_feed(position, limit=4)
    for change in batch.changes[:2]:  # applies half the batch, then crashes
        applied[change.ref] = change.entity
    write(repository, "s", [entity("e1", title="moved")])
    while (batch := repository.read_feed(position, limit=4)).changes:
        for change in batch.changes:
            applied[change.ref] = change.entity
        position = batch.next_position  # stored only once the batch is applied
    assert sorted(applied) == sorted(ref(f"e{i}") for i in range(7))
    e1 = applied[ref("e1")]
    assert isinstance(e1, dict) and e1["metadata"]["title"] == "moved"


def test_a_reader_behind_purged_tombstones_is_told_to_relist(repository: SqlRepository) -> None:
    write(repository, "s", [entity("a"), entity("b"), entity("c")])
    write(repository, "s", [], removed=[ref("a")], now=T0 + timedelta(minutes=1))
    head = read_all(repository)[-1].position
    assert repository.purge_tombstones(before=T0) == 0
    assert repository.purge_tombstones(before=T0 + timedelta(days=8)) == 1
    behind = repository.read_feed(0)
    assert behind.relist and behind.changes == () and behind.next_position == head
    assert not repository.read_feed(head).relist
    assert [c.ref for c in read_all(repository, behind.next_position)] == []
