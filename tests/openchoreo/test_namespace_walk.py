"""The namespace-era walk and its workload join, on an in-memory listing server.

The fake server (``namespace_fakes``) pages sorted names with opaque cursors and can reject
cursors (500), repeat items, hide items and delete namespaces mid-walk, so the walk's exactness
is checked over many schedules quickly; the same walk runs against the HTTP simulator in
``test_namespace_provider.py``.
"""

import random

import orjson
import pytest

from catalog_ingest.providers.openchoreo.listing import MAX_PAGES_WITHOUT_PROGRESS, Listing
from catalog_ingest.providers.openchoreo.namespace_walk import Kind, NamespaceCursor, step
from catalog_ingest.providers.openchoreo.upstream_errors import (
    CursorRejectedError,
    UpstreamContractError,
)
from catalog_ingest.providers.openchoreo.workload_join import WorkloadOrder
from tests.openchoreo.namespace_fakes import (
    FakeServer,
    Installation,
    expected_workloads,
    installation,
    namespace,
    walk_all,
)


def assert_exact(data: Installation, server: FakeServer, **walk: int) -> list[str]:
    """Every namespace, project and component once, each component with its own workload
    (or looked up); returns the components looked up."""
    walked = walk_all(server.fetch, **walk)
    assert walked.domains == sorted(data)
    assert walked.systems == [f"{ns}/{p}" for ns in sorted(data) for p in sorted(data[ns].projects)]
    expected = expected_workloads(data)
    assert set(walked.components) | set(walked.lookups) == set(expected)
    assert not set(walked.components) & set(walked.lookups)
    assert walked.components == {key: expected[key] for key in walked.components}
    return walked.lookups


def test_a_walk_emits_every_namespace_project_and_component_once_with_its_workload() -> None:
    data = installation(3, 4, 6, workload_name=lambda c: c)
    walked = walk_all(FakeServer(data, limit=4).fetch)
    assert walked.lookups == []
    assert walked.components == expected_workloads(data)
    assert walked.domains == sorted(data)


def test_pages_come_in_dependency_order_within_each_namespace() -> None:
    data = installation(3, 2, 5)
    order = walk_all(FakeServer(data, limit=3).fetch).order
    for ns in sorted(data):
        mine = [i for i, entry in enumerate(order) if entry.endswith(ns)]
        kinds = [order[i].split(":")[0] for i in mine]
        assert kinds == sorted(kinds, key=["domain", "system", "component"].index)
        assert order[mine[0]] == f"domain:{ns}"


def test_workloads_named_after_their_components_join_without_any_lookup() -> None:
    data = installation(2, 3, 9, workload_name=lambda c: c + "-workload")
    server = FakeServer(data, limit=4)
    assert assert_exact(data, server) == []


def test_component_names_extending_others_cost_a_lookup_only_at_a_page_boundary() -> None:
    """``<component>-workload`` names sort out of their components' order when one component
    name extends another (``a-workload`` after ``a-b-workload``): the join still places every
    workload it can, and looks up only components whose workload may lie past where it
    stopped."""

    def name(i: int, j: int, k: int) -> str:
        return f"c{j}" if k == 0 else f"c{j}-{'ab'[k % 2]}{k:02d}"

    data = installation(1, 6, 7, names=name, with_workload=lambda k: True)
    heads = {f"ns000/c{j}" for j in range(6)}
    assert assert_exact(data, FakeServer(data, limit=20)) == ["ns000/c2", "ns000/c5"]  # cut
    assert set(assert_exact(data, FakeServer(data, limit=5))) == heads  # every family is cut
    assert assert_exact(data, FakeServer(data, limit=100)) == []


def test_workloads_named_irregularly_and_out_of_order_make_every_component_a_lookup() -> None:
    data = installation(2, 2, 4, workload_name=lambda c: c)
    ns = data["ns001"]
    ns.workloads = {f"w{9 - n}": c for n, c in enumerate(sorted(ns.workloads.values()))}
    lookups = assert_exact(data, FakeServer(data, limit=3))
    assert sorted(lookups) == sorted(f"ns001/{c}" for c in ns.components)


@pytest.mark.parametrize("seed", range(20))
def test_cursors_rejected_with_500_at_random_in_every_listing_change_nothing(seed: int) -> None:
    data = installation(4, 3, 5)
    server = FakeServer(data, limit=2, rng=random.Random(seed), reject_rate=0.3)
    assert_exact(data, server)
    assert sum(server.rejected.values()) > 0


def test_every_listing_restarts_on_a_rejected_cursor() -> None:
    data = installation(6, 5, 8)
    server = FakeServer(data, limit=2, rng=random.Random(7), reject_rate=0.2)
    assert_exact(data, server)
    kinds: tuple[Kind, ...] = ("namespaces", "projects", "workloads", "components")
    assert all(server.rejected.get(kind, 0) > 0 for kind in kinds), server.rejected


@pytest.mark.parametrize("seed", range(10))
def test_items_repeated_across_pages_are_emitted_once(seed: int) -> None:
    data = installation(3, 3, 7)
    server = FakeServer(data, limit=3, rng=random.Random(seed), repeat_rate=0.7)
    assert_exact(data, server)


def test_hidden_items_give_short_and_empty_pages_that_the_walk_passes_through() -> None:
    data = installation(3, 4, 8)

    def hidden(name: str) -> bool:
        return name.endswith(("1", "2", "3"))

    server = FakeServer(data, limit=2, hidden=hidden)
    walked = walk_all(server.fetch, want=3)
    assert walked.domains == [ns for ns in sorted(data) if not hidden(ns)]
    visible = {k for k in expected_workloads(data) if not any(map(hidden, k.split("/")))}
    assert set(walked.components) | set(walked.lookups) == set(visible)


def test_a_namespace_deleted_mid_walk_is_skipped_and_the_walk_goes_on() -> None:
    data = installation(3, 2, 6)
    server = FakeServer(data, limit=2)
    original = server.fetch

    def fetch(kind: Kind, ns: str | None, cursor: str | None) -> Listing:
        if kind == "components" and ns == "ns001" and cursor is not None:
            data.pop("ns001", None)  # deleted after its first page of components
        return original(kind, ns, cursor)

    walked = walk_all(fetch)
    assert walked.domains == ["ns000", "ns001", "ns002"]
    done = [key for key in walked.components if key.startswith("ns001/")]
    assert 0 < len(done) < 12  # its first page came before the deletion
    assert {k for k in walked.components if not k.startswith("ns001/")} == {
        k for k in expected_workloads(data) if not k.startswith("ns001/")
    }


def test_a_cursor_handed_back_unchanged_is_an_error_not_a_loop() -> None:
    def stuck(kind: Kind, ns: str | None, cursor: str | None) -> Listing:
        page = FakeServer(installation(1, 1, 1), limit=1).fetch(kind, ns, None)
        return Listing(page.names, page.items, "same", True)

    first = step(NamespaceCursor.load(None), stuck, want=100, max_fetches=1)
    assert first.cursor is not None
    with pytest.raises(UpstreamContractError, match="continue token did not advance"):
        step(first.cursor, stuck, want=100, max_fetches=10)


def test_cursors_that_cycle_without_moving_forward_are_an_error_not_a_loop() -> None:
    """Cursors A, B, A, B...: each differs from the one sent, but page B leads back to the
    first namespaces, so the listing never gets past what it has seen."""
    pages = {None: ["ns0", "ns1"], "A": ["ns2", "ns3"], "B": ["ns0", "ns1"]}
    following = {None: "A", "A": "B", "B": "A"}

    def cycling(kind: Kind, ns: str | None, cursor: str | None) -> Listing:
        if kind != "namespaces":
            return Listing([], [], None, False)
        names = pages[cursor]
        items = [namespace(name) for name in names]
        return Listing(names, items, following[cursor], True)

    with pytest.raises(UpstreamContractError, match="did not advance") as failure:
        walk_all(cycling, want=1000, max_fetches=50)
    assert f"{MAX_PAGES_WITHOUT_PROGRESS} pages in a row" in str(failure.value)
    assert "listing namespaces" in str(failure.value)


def test_a_listing_whose_cursors_are_always_rejected_fails_after_six_restarts() -> None:
    server = FakeServer(installation(4, 1, 1), limit=1, reject_rate=1.0)
    with pytest.raises(CursorRejectedError, match="HTTP 500 to the cursor 6 times in a row"):
        walk_all(server.fetch, max_fetches=30)


def test_the_cursor_stays_small_walking_a_thousand_namespaces() -> None:
    data = installation(1000, 2, 2)
    walked = walk_all(FakeServer(data, limit=100).fetch, want=100, max_fetches=3)
    assert len(walked.domains) == 1000
    assert 0 < walked.largest_cursor < 1024


@pytest.mark.parametrize(
    "cursor", [{"g": "orgs"}, {"g": "namespaces", "st": "x"}, {"v": 1, "p": 0, "s": [{}]}, "x"]
)
def test_a_cursor_this_walk_did_not_write_is_refused_clearly(cursor: object) -> None:
    with pytest.raises(ValueError, match="cursor"):
        NamespaceCursor.load(cursor)  # type: ignore[arg-type]


def test_the_order_scan_keeps_three_facts_whatever_the_listing_length() -> None:
    server = FakeServer(installation(1, 1, 3000, workload_name=lambda c: c + "-w"), limit=100)
    order = WorkloadOrder()
    cursor = None
    while True:
        page = server.fetch("workloads", "ns000", cursor)
        order = order.seen(page.items)
        if not page.has_more:
            break
        cursor = page.next_token
    assert order.sorted and order.regular and order.suffix == "-w"
    assert len(orjson.dumps(order.model_dump(by_alias=True))) < 100
