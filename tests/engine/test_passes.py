"""Whole passes over a mutating source: the catalog follows it, and only changes are written."""

import random
import re
from datetime import datetime

import sqlalchemy as sa

from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction, TickOutcome
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from models.tables import source_entities
from tests.support.engine_harness import (
    PROVIDER,
    ScriptedProvider,
    SourceRow,
    build_engine,
    complete_pass,
    expected_catalog,
    read_catalog_refs,
    read_catalog_updated_at,
    read_source,
    refs_of,
    run_until,
    unstamped_catalog,
)

SIZE = 1000
SMALL = 300
PAGE_SIZE = 100
REF = re.compile(r"^(component|api|system):default/(component|api|system)-1-\d{7}$")


def passes_engine(
    repository: SqlRepository, clock: ManualClock, size: int = SMALL
) -> tuple[SyntheticSource, ScriptedProvider, Engine]:
    source = SyntheticSource(size=size, body_bytes=600)
    provider = ScriptedProvider(source, page_size=PAGE_SIZE)
    return source, provider, build_engine(repository, clock, provider)


def run_pass(engine: Engine, clock: ManualClock) -> tuple[TickOutcome, datetime]:
    """Complete the next pass (after the current rest); return its outcome and write time."""
    outcome = complete_pass(engine, clock)
    return outcome, clock.now()


def assert_catalog_equals_source(db: sa.Engine, source: SyntheticSource) -> None:
    catalog = unstamped_catalog(db)
    assert catalog == expected_catalog(source)
    assert read_catalog_refs(db) == set(catalog)
    assert set(read_source(db)) == set(catalog)


def assert_written_only(
    before: dict[str, SourceRow],
    after: dict[str, SourceRow],
    written: set[str],
    written_at: datetime,
) -> None:
    """Refs in ``written`` carry ``written_at``; every other surviving ref is untouched."""
    for ref, row in after.items():
        if ref in written:
            assert row.updated_at == written_at, ref
            if ref in before:
                assert row.created_at == before[ref].created_at, ref
        else:
            assert row == before[ref], ref


def test_three_passes_with_additions_changes_and_removals_keep_the_catalog_equal_to_the_source(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = passes_engine(repository, clock, SIZE)
    rng = random.Random(20260101)

    first, first_at = run_pass(engine, clock)
    assert (first.entities, first.written, first.removed) == (SIZE, SIZE, 0)
    assert_catalog_equals_source(db, source)
    after_first = read_source(db)
    assert {row.created_at for row in after_first.values()} == {first_at}

    for label in ("second", "third"):
        before = read_source(db)
        catalog_times = read_catalog_updated_at(db)
        changed = source.sample(60, rng)
        source.change(changed)
        removed = [i for i in source.sample(80, rng) if i not in changed][:50]
        source.remove(removed)
        added = source.add(30)

        outcome, written_at = run_pass(engine, clock)

        assert written_at > max(row.updated_at for row in before.values()), label
        assert outcome.removed == len(removed), label
        assert outcome.written == len(changed) + len(added), label
        assert_catalog_equals_source(db, source)
        after = read_source(db)
        assert set(after).isdisjoint(refs_of(source, removed)), label
        written = refs_of(source, changed + added)
        assert_written_only(before, after, written, written_at)
        for index in added:
            assert after[source.ref_of(index)].created_at == written_at
        new_catalog_times = read_catalog_updated_at(db)
        for ref, updated_at in new_catalog_times.items():
            assert updated_at == (written_at if ref in written else catalog_times[ref]), ref


def test_an_unchanged_source_rewrites_nothing_on_the_next_pass(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = passes_engine(repository, clock)
    run_pass(engine, clock)
    before = read_source(db)
    catalog_times = read_catalog_updated_at(db)

    outcome, _ = run_pass(engine, clock)

    assert (outcome.entities, outcome.written, outcome.removed) == (SMALL, 0, 0)
    assert read_source(db) == before
    assert read_catalog_updated_at(db) == catalog_times
    assert_catalog_equals_source(db, source)


def test_an_entity_removed_upstream_and_restored_later_comes_back_with_its_body(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = passes_engine(repository, clock)
    run_pass(engine, clock)
    source.remove([7, 150, 299])
    run_pass(engine, clock)
    assert not {source.ref_of(7), source.ref_of(150), source.ref_of(299)} & read_catalog_refs(db)

    source.removed.clear()
    source.change([150])
    outcome, _ = run_pass(engine, clock)

    assert outcome.written == 3
    assert_catalog_equals_source(db, source)


def test_entities_are_stored_under_kind_namespace_name_refs_with_kind_lower_cased(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, _, engine = passes_engine(repository, clock)

    run_until(engine, clock, TickAction.PASS_COMPLETED)

    refs = read_catalog_refs(db)
    assert len(refs) == SMALL
    assert all(REF.match(ref) for ref in refs)
    assert {"system:default/system-1-0000000", "api:default/api-1-0000010"} <= refs
    assert "component:default/component-1-0000001" in refs
    assert source.kind_of(10) == "API"


def test_a_changed_merge_priority_is_applied_to_unchanged_entities_on_the_next_pass(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source, provider, engine = passes_engine(repository, clock)
    run_pass(engine, clock)
    reprioritised = build_engine(repository, clock, provider, priority=3)

    run_pass(reprioritised, clock)

    with db.connect() as connection:
        priorities = set(
            connection.execute(
                sa.select(source_entities.c.priority).where(source_entities.c.source == PROVIDER)
            ).scalars()
        )
    assert priorities == {3}
    assert_catalog_equals_source(db, source)
