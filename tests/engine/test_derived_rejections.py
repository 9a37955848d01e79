"""A rejected entity takes the entities of its page derived from it: no orphan APIs."""

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from catalog_ingest.contracts.provider import BurstInfo, Entity, JSONValue, Page
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.entity_preparation import prepare_page
from models.sql_repository import SqlRepository
from tests.support.engine_harness import PROVIDER, build_engine, complete_pass, read_catalog


def entity(kind: str, name: str, **spec: Any) -> Entity:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"type": "service", "owner": "team", "lifecycle": "production", **spec},
    }


BAD = "orders_"  # must end with a letter or digit; its APIs `orders_-http` are valid names
PAGE = [
    entity("Component", "fine"),
    entity("Component", BAD, system="shop", providesApis=[f"{BAD}-http", f"{BAD}-grpc"]),
    entity("API", f"{BAD}-http"),
    entity("API", f"{BAD}-grpc"),
    entity("API", "fine-http"),
]


class OnePage:
    name = PROVIDER

    def around(self, burst: BurstInfo) -> AbstractContextManager[None]:
        return nullcontext()

    def next(self, context: None, cursor: JSONValue) -> Page:
        return Page(True, PAGE)


def test_a_rejected_component_takes_the_apis_it_provides_along() -> None:
    page = prepare_page(PAGE, "p")
    assert [e.ref for e in page.entities] == ["component:default/fine", "api:default/fine-http"]
    assert sorted(r.index for r in page.rejections) == [1, 2, 3]
    assert "derived from rejected" in page.rejections[1].reason


def test_entities_that_name_a_rejected_system_go_with_it_and_so_do_their_apis() -> None:
    page = prepare_page(
        [
            entity("System", "bad system!"),
            entity("Component", "web", system="bad system!", providesApis=["web-http"]),
            entity("API", "web-http"),
            entity("Component", "other", system="shop"),
        ],
        "p",
    )
    assert [e.ref for e in page.entities] == ["component:default/other"]
    assert len(page.rejections) == 3


def test_a_page_with_an_invalid_component_stores_none_of_it_or_its_apis(
    repository: SqlRepository, clock: ManualClock
) -> None:
    engine = build_engine(repository, clock, OnePage())
    done = complete_pass(engine, clock)
    assert done.rejected == 3
    assert set(read_catalog(repository.engine)) == {
        "component:default/fine",
        "api:default/fine-http",
    }
