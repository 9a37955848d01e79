"""A provider's ``ttl_seconds`` and ``merge`` options reach its records through the engine's
page commits, on PostgreSQL and SQLite: records expire a TTL after the pass that wrote them,
and a ``replace`` provider ranked first is the entity whole."""

from datetime import timedelta

from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from models.sql_repository import SqlRepository
from tests.aggregation.merge_support import entity, write
from tests.support.engine_harness import build_engine, complete_pass, options

TTL = 3600


def test_a_pass_of_a_provider_with_a_ttl_writes_records_that_expire(
    repository: SqlRepository, clock: ManualClock
) -> None:
    source = SyntheticSource(size=30)
    provider = SyntheticProvider("synth", source, page_size=10)
    engine = build_engine(repository, clock, provider, options(ttl_seconds=TTL))
    written_at = clock.now()
    complete_pass(engine, clock)
    entry = repository.catalog_entry(source.ref_of(0))
    assert entry is not None and entry.records[0].expires_at is not None
    assert entry.records[0].expires_at - written_at >= timedelta(seconds=TTL)
    result = repository.expire_records(entry.records[0].expires_at + timedelta(seconds=1))
    assert result.removed == 30
    assert repository.catalog_entry(source.ref_of(0)) is None


def test_a_replace_provider_ranked_first_is_taken_whole(
    repository: SqlRepository, clock: ManualClock
) -> None:
    source = SyntheticSource(size=5)
    ref = source.ref_of(0)
    body = source.entity(0)
    name = body["metadata"]["name"]
    extra = entity(name, annotations={"below/only": "x"})
    extra["kind"] = body["kind"]
    write(repository, "below", [extra], priority=0)
    provider = SyntheticProvider("whole", source, page_size=10)
    engine = build_engine(repository, clock, provider, options(merge="replace"), priority=5)
    complete_pass(engine, clock, "whole")
    entry = repository.catalog_entry(ref)
    assert entry is not None and entry.entity is not None
    assert "below/only" not in entry.entity["metadata"]["annotations"]
    assert [record.replace for record in entry.records] == [True, False]
