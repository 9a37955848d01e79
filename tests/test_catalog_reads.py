"""Export reads the catalog in keyset batches: everything, in ref order, on both backends."""

from sqlalchemy import Engine

from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine as IngestEngine
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from models.catalog_reads import count_by_kind, iter_entities
from models.sql_repository import SqlRepository


def _ingest(db: Engine, name: str, source: SyntheticSource, priority: int = 0) -> None:
    binding = ProviderBinding(
        SyntheticProvider(name, source, page_size=40), ProviderOptions(burst_length=300), priority
    )
    engine = IngestEngine(SqlRepository(db), {name: binding}, ManualClock())
    assert engine.tick(name).action is TickAction.PASS_COMPLETED


def test_small_batches_stream_every_entity_once_in_ref_order(db: Engine) -> None:
    source = SyntheticSource(size=230)
    _ingest(db, "p", source)
    entities = list(iter_entities(db, batch=7))
    refs = [f"{e['kind'].lower()}:default/{e['metadata']['name']}" for e in entities]
    assert refs == sorted(source.ref_of(i) for i in range(230))
    assert sum(count_by_kind(db).values()) == 230


def test_the_merged_catalog_shows_the_higher_priority_source(db: Engine) -> None:
    shared = SyntheticSource(size=10, body_bytes=500)
    _ingest(db, "low", shared, priority=0)
    _ingest(db, "high", SyntheticSource(size=10, body_bytes=600), priority=10)
    merged = list(iter_entities(db))
    assert len(merged) == 10
    assert {e["metadata"]["annotations"]["backstage.io/managed-by-location"] for e in merged} == {
        "provider:high"
    }
    assert len(list(iter_entities(db, provider="low"))) == 10


def test_a_lower_priority_source_arriving_later_does_not_take_over(db: Engine) -> None:
    _ingest(db, "high", SyntheticSource(size=10, body_bytes=600), priority=10)
    _ingest(db, "low", SyntheticSource(size=10, body_bytes=500), priority=0)
    merged = list(iter_entities(db))
    assert {e["metadata"]["annotations"]["backstage.io/managed-by-location"] for e in merged} == {
        "provider:high"
    }


def test_on_equal_priority_the_lower_source_name_wins_whichever_came_first(db: Engine) -> None:
    _ingest(db, "zeta", SyntheticSource(size=10, body_bytes=600))
    _ingest(db, "alpha", SyntheticSource(size=10, body_bytes=500))
    merged = list(iter_entities(db))
    assert {e["metadata"]["annotations"]["backstage.io/managed-by-location"] for e in merged} == {
        "provider:alpha"
    }
