"""Two upstream items that translate to one ref in a pass: the first writer keeps it.

Upstream names are unique only within their parent, so a provider may emit the same ref twice
in one pass. The catalog must not flip between the two owners (or depend on page order across
bursts): the first emission of a ref in a pass is kept, later ones are dropped, counted and
logged with both origins.
"""

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from catalog_ingest.contracts.provider import BurstInfo, Delta, Entity, EventResult, JSONValue, Page
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.event_deltas import apply_event
from models.sql_repository import SqlRepository
from tests.support.engine_harness import (
    PROVIDER,
    build_engine,
    complete_pass,
    options,
    read_catalog,
    read_marked_refs,
)
from tests.support.log_capture import captured_events

TOPIC = "upsert"


def component(name: str, origin: str) -> Entity:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": {"example.com/origin": origin}},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team"},
    }


class PagedProvider:
    """Serves fixed pages; the cursor is the next page's index. Describes origins."""

    def __init__(self, pages: Sequence[Sequence[Entity]]) -> None:
        self.pages = pages

    @property
    def name(self) -> str:
        return PROVIDER

    def around(self, burst: BurstInfo) -> AbstractContextManager[None]:
        return nullcontext()

    def next(self, context: None, cursor: JSONValue) -> Page:
        index = cursor if isinstance(cursor, int) else 0
        done = index + 1 >= len(self.pages)
        return Page(done=done, entities=self.pages[index], cursor=None if done else index + 1)

    def origin_of(self, entity: Mapping[str, Any]) -> str:
        return str(entity["metadata"]["annotations"]["example.com/origin"])

    def supports_event_topics(self) -> Sequence[str]:
        return [TOPIC]

    def on_event(self, topic: str, payload: Mapping[str, Any]) -> EventResult:
        return Delta(added=[component(payload["name"], payload["origin"])])


def origin(body: Mapping[str, Any]) -> str:
    return str(body["metadata"]["annotations"]["example.com/origin"])


def test_a_ref_emitted_by_two_pages_keeps_the_first_and_counts_the_clash(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = PagedProvider(
        [
            [component("web", "org-a/web"), component("api", "org-a/api")],
            [component("web", "org-b/web"), component("solo", "org-b/solo")],
            [component("web", "org-c/web")],
        ]
    )
    engine = build_engine(repository, clock, provider)
    with captured_events() as logs:
        outcome = complete_pass(engine, clock)

    catalog = read_catalog(repository.engine)
    assert {ref: origin(body) for ref, body in catalog.items()} == {
        "component:default/web": "org-a/web",
        "component:default/api": "org-a/api",
        "component:default/solo": "org-b/solo",
    }
    assert outcome.duplicates == 2
    assert outcome.entities == 3
    ingestion = repository.get(outcome.ingestion_id or "")
    assert ingestion is not None
    assert (ingestion.duplicates, ingestion.entities) == (2, 3)
    clashes = [entry for entry in logs if entry["event"].startswith("entity clash")]
    assert [(c["ref"], c["kept"], c["dropped"]) for c in clashes] == [
        ("component:default/web", "org-a/web", "org-b/web"),
        ("component:default/web", "org-a/web", "org-c/web"),
    ]


def test_a_ref_repeated_within_one_page_keeps_the_first_and_counts_the_clash(
    repository: SqlRepository, clock: ManualClock
) -> None:
    provider = PagedProvider([[component("web", "org-a/web"), component("web", "org-b/web")]])
    engine = build_engine(repository, clock, provider)
    with captured_events() as logs:
        outcome = complete_pass(engine, clock)

    assert {ref: origin(b) for ref, b in read_catalog(repository.engine).items()} == {
        "component:default/web": "org-a/web"
    }
    assert outcome.duplicates == 1
    [clash] = [entry for entry in logs if entry["event"].startswith("entity clash")]
    assert (clash["kept"], clash["dropped"]) == ("org-a/web", "org-b/web")


def test_a_page_overrides_what_an_event_marked_earlier_in_the_pass(
    repository: SqlRepository, clock: ManualClock
) -> None:
    """Events are not page writes: the pass's own page claims the ref, no clash is counted."""
    provider = PagedProvider([[component("web", "listing/web")]])
    engine = build_engine(
        repository, clock, provider, options(reject_removals_above_percentage=100)
    )
    binding = engine.binding(PROVIDER)
    apply_event(repository, binding, TOPIC, {"name": "web", "origin": "event/web"}, clock)
    ingestion = repository.get_open(PROVIDER)
    assert ingestion is not None
    assert read_marked_refs(repository.engine, ingestion.id) == {"component:default/web": None}

    outcome = complete_pass(engine, clock)

    assert outcome.duplicates == 0
    assert read_marked_refs(repository.engine, ingestion.id) == {"component:default/web": 1}
    assert {ref: origin(b) for ref, b in read_catalog(repository.engine).items()} == {
        "component:default/web": "listing/web"
    }


@pytest.mark.parametrize("repeat_in_next_pass", [True, False])
def test_the_next_pass_starts_clean_first_writer_again(
    repository: SqlRepository, clock: ManualClock, repeat_in_next_pass: bool
) -> None:
    """Deduplication is per pass: a ref marked by the previous pass is no clash in this one."""
    provider = PagedProvider([[component("web", "org-a/web")], [component("web", "org-b/web")]])
    engine = build_engine(repository, clock, provider)
    assert complete_pass(engine, clock).duplicates == 1
    if not repeat_in_next_pass:
        provider.pages = [[component("web", "org-b/web")]]
    second = complete_pass(engine, clock)
    assert second.duplicates == (1 if repeat_in_next_pass else 0)
    expected = "org-a/web" if repeat_in_next_pass else "org-b/web"
    assert {ref: origin(b) for ref, b in read_catalog(repository.engine).items()} == {
        "component:default/web": expected
    }
