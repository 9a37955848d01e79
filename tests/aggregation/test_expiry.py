"""TTL on PostgreSQL and SQLite: a record expires at its last refresh plus its source's TTL;
merges ignore it from then on, the expiry drops it and re-merges its ref, and a ref with no
live record left leaves the catalog with a tombstone in the feed."""

from datetime import timedelta

from catalog_ingest.aggregation.expiry import run_expiry
from models.sql_repository import SqlRepository
from tests.aggregation.merge_support import T0, entity, merged, read_all, ref, write

TTL = 600


def test_an_expired_record_is_dropped_and_its_ref_re_merged_or_removed(
    repository: SqlRepository,
) -> None:
    """The reference's defect 3: a record that expired after being flagged stayed flagged
    and its entity was never re-merged nor removed."""
    write(repository, "lasting", [entity("shared", title="lasting")], priority=1)
    write(
        repository,
        "fleeting",
        [entity("shared", description="fleeting"), entity("alone")],
        priority=5,
        ttl_seconds=TTL,
    )
    head = read_all(repository)[-1].position
    shared = merged(repository, "shared")
    assert shared is not None and shared["metadata"]["description"] == "fleeting"
    assert repository.expire_records(T0 + timedelta(seconds=TTL - 1)).expired == 0
    result = repository.expire_records(T0 + timedelta(seconds=TTL))
    assert (result.expired, result.changed, result.removed) == (2, 2, 1)
    changes = {c.ref: c.entity for c in read_all(repository, head)}
    assert changes[ref("alone")] is None
    re_merged = changes[ref("shared")]
    assert re_merged is not None and "description" not in re_merged["metadata"]
    assert re_merged["metadata"]["title"] == "lasting"
    assert repository.catalog_entry(ref("alone")) is None
    assert repository.expire_records(T0 + timedelta(days=1)).expired == 0


def test_a_refresh_moves_the_expiry_even_when_nothing_changed(repository: SqlRepository) -> None:
    write(repository, "s", [entity("a")], ttl_seconds=TTL)
    write(repository, "s", [entity("a")], ttl_seconds=TTL, now=T0 + timedelta(seconds=500))
    entry = repository.catalog_entry(ref("a"))
    assert entry is not None
    assert entry.records[0].expires_at == T0 + timedelta(seconds=500 + TTL)
    assert repository.expire_records(T0 + timedelta(seconds=TTL + 1)).expired == 0


def test_a_merge_ignores_an_expired_record_before_the_expiry_drops_it(
    repository: SqlRepository,
) -> None:
    write(repository, "old", [entity("a", description="old")], priority=9, ttl_seconds=TTL)
    later = T0 + timedelta(seconds=TTL + 5)
    write(repository, "new", [entity("a", title="new")], now=later)
    body = merged(repository, "a")
    assert body is not None and "description" not in body["metadata"]


def test_an_expired_record_refreshed_unchanged_before_the_expiry_ran_is_kept(
    repository: SqlRepository,
) -> None:
    write(repository, "s", [entity("a")], ttl_seconds=TTL)
    late = T0 + timedelta(seconds=TTL + 60)
    write(repository, "s", [entity("a")], ttl_seconds=TTL, now=late)
    assert repository.expire_records(late).expired == 0
    assert merged(repository, "a") is not None
    assert [c.entity is not None for c in read_all(repository)] == [True]


def test_an_expired_and_dropped_record_written_again_is_back(repository: SqlRepository) -> None:
    write(repository, "s", [entity("a")], ttl_seconds=TTL)
    late = T0 + timedelta(seconds=TTL + 60)
    repository.expire_records(late)
    assert repository.catalog_entry(ref("a")) is None
    write(repository, "s", [entity("a")], ttl_seconds=TTL, now=late)
    assert merged(repository, "a") is not None
    assert [c.entity is not None for c in read_all(repository)] == [True]


def test_an_expiry_run_works_through_every_batch_then_purges_old_tombstones(
    repository: SqlRepository,
) -> None:
    write(repository, "s", [entity(f"e{i}") for i in range(7)], ttl_seconds=TTL)
    first = run_expiry(repository, T0 + timedelta(seconds=TTL), timedelta(days=1), batch=3)
    assert (first.expired, first.changed, first.removed, first.tombstones_purged) == (7, 7, 7, 0)
    assert all(change.entity is None for change in read_all(repository))
    later = run_expiry(repository, T0 + timedelta(days=2), timedelta(days=1), batch=3)
    assert later.tombstones_purged == 7
    assert repository.read_feed(0).relist
