"""An entity larger than ``max_entity_bytes`` is rejected alone, like any invalid entity."""

import dataclasses

import sqlalchemy as sa

from catalog_ingest.contracts.provider import JSONValue, Page
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.entity_preparation import prepare_page
from catalog_ingest.providers.synthetic import SyntheticSource
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    ScriptedProvider,
    build_engine,
    options,
    read_catalog_refs,
)

TWO_MIB = 2 * 1024 * 1024


class OneHugeEntityProvider(ScriptedProvider):
    """Its last entity (a component nothing derives from) carries a 2 MiB description."""

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        page = super().next(context, cursor)
        *rest, huge = page.entities
        metadata = {**huge["metadata"], "description": "x" * TWO_MIB}
        return dataclasses.replace(page, entities=[*rest, {**huge, "metadata": metadata}])


def test_a_page_with_one_2_mib_entity_stores_only_the_normal_one_and_counts_one_rejection(
    repository: SqlRepository, clock: ManualClock, db: sa.Engine
) -> None:
    source = SyntheticSource(size=2, body_bytes=200)
    engine = build_engine(repository, clock, OneHugeEntityProvider(source), options())

    outcome = engine.tick(PROVIDER)

    assert outcome.rejected == 1
    assert outcome.entities == 1
    assert read_catalog_refs(db) == {source.ref_of(0)}


def test_the_rejection_names_the_entity_its_size_and_the_limit() -> None:
    entity = SyntheticSource(size=1, body_bytes=200).entity(0)
    entity["metadata"]["description"] = "x" * 5000

    page = prepare_page([entity], PROVIDER, max_entity_bytes=4096)

    assert page.entities == []
    assert "over max_entity_bytes (4,096)" in page.rejections[0].reason
