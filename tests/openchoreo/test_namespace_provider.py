"""The OpenChoreo provider on today's API (namespace era) under the real engine, against the
simulator over loopback HTTP; the organization-era twins of these tests are in
``test_provider.py``."""

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import orjson
import pytest

from catalog_ingest.app.status_view import status_rows
from catalog_ingest.contracts.provider import BurstInfo, JSONValue
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.redaction import Redactor
from catalog_ingest.providers.openchoreo.listing import MAX_PAGES_WITHOUT_PROGRESS
from catalog_ingest.providers.openchoreo.namespace_walk import NamespaceCursor, Stage
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from models.sql_repository import SqlRepository
from tests.support.backstage_model import problems
from tests.support.engine_harness import (
    PROVIDER,
    build_engine,
    complete_pass,
    options,
    read_marks,
    run_until,
)
from tests.support.log_capture import captured_events
from tests.support.namespace_catalog import (
    RecordingTransport,
    expected_namespace_catalog,
    namespace_provider_for,
    requests_of_a_pass,
)
from tests.support.openchoreo_catalog import OnePagePerBurst, provider_for, stored_catalog
from tests.support.simulator_harness import Running, running

SPEC = DatasetSpec(orgs=3, projects=3, components=8, seed=4, hidden_every=7)
TOKEN = "sim-token-5f2b9c"
LISTINGS = ("namespaces", "projects", "workloads", "components")


def serve(spec: DatasetSpec, api: str = "namespaces") -> AbstractContextManager[Running]:
    config = SimulatorConfig(token=TOKEN, api=api)  # type: ignore[arg-type]
    return running(spec, config, {"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def upstream() -> Iterator[Running]:
    with serve(SPEC) as sim:
        yield sim


def expected(upstream: Running) -> dict[str, Any]:
    return expected_namespace_catalog(upstream.api)


def test_a_pass_yields_exactly_the_expected_entities_each_valid_for_backstage(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    provider = namespace_provider_for(upstream.url, token=TOKEN)
    engine = build_engine(repository, clock, OnePagePerBurst(provider, clock))

    outcome = complete_pass(engine, clock)

    catalog = stored_catalog(repository.engine)
    assert catalog == expected(upstream)
    assert {entity["kind"] for entity in catalog.values()} == {
        "Domain",
        "System",
        "Component",
        "API",
    }
    for entity in catalog.values():
        assert problems(entity) == [], entity["metadata"]["name"]
    assert outcome.duplicates == 0
    marks = read_marks(repository.engine, outcome.ingestion_id or "")
    assert len(marks) >= 8
    for _sequence, cursor in marks[:-1]:
        NamespaceCursor.load(cursor)  # every stored cursor resumes
        assert len(orjson.dumps(cursor)) < 2048
    assert upstream.stats()["by_endpoint"]["ns_component"] == 0  # listings only


def test_the_requests_of_a_pass_equal_the_formula(upstream: Running) -> None:
    """One burst, workloads in their components' order: paged listings only, and exactly as
    many as the README's formula says."""
    with serve(DatasetSpec(orgs=4, projects=3, components=9, seed=2)) as sim:
        provider = namespace_provider_for(sim.url, token=TOKEN, generation="auto", chunk_size=5)
        with provider.around(BurstInfo(PROVIDER, "i", 1)) as context:
            cursor: JSONValue = None
            while True:
                page = provider.next(context, cursor)
                assert page.deferred == []
                if page.done:
                    break
                cursor = page.cursor
        made = sum(sim.stats()["by_endpoint"].values())
        assert made == requests_of_a_pass(sim.api, limit=5, probe=True)


def test_a_pass_resumes_exactly_after_a_crash_mid_listing(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    """The burst dies while listing (an upstream that fails every request for a while): the
    engine backs off, and the pass resumes from the last committed page, losing nothing."""
    provider = namespace_provider_for(upstream.url, token=TOKEN, retries=0)
    engine = build_engine(repository, clock, OnePagePerBurst(provider, clock))
    while True:  # until a namespace's components are half listed
        outcome = run_until(engine, clock, TickAction.BURST)[-1]
        mark = repository.last_mark(outcome.ingestion_id or "")
        assert mark is not None
        walk = NamespaceCursor.load(mark.cursor)
        if walk.stage is Stage.COMPONENTS and walk.listing.token is not None:
            break
    upstream.set_faults(error_rate=1.0)
    run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)
    upstream.set_faults()

    complete_pass(engine, clock, allow_backoff=True)

    assert stored_catalog(repository.engine) == expected(upstream)


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_cursors_rejected_with_500_in_every_listing_change_nothing(
    repository: SqlRepository, clock: ManualClock, seed: int
) -> None:
    with serve(DatasetSpec(orgs=7, projects=3, components=5, seed=seed)) as upstream:
        upstream.set_faults(expire_rate=0.3, fault_seed=seed)
        provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=2)
        with captured_events() as logs:
            complete_pass(build_engine(repository, clock, provider), clock)
        assert stored_catalog(repository.engine) == expected(upstream)
        assert upstream.stats()["by_status"].get("500", 0) > 0
    restarts = [entry["listing"] for entry in logs if entry["event"].startswith("cursor rejected")]
    for listing in LISTINGS:
        assert any(r.startswith(f"listing {listing}") for r in restarts), (listing, restarts)


def test_a_chunk_size_of_500_asks_the_server_for_100_items_per_request(upstream: Running) -> None:
    transport = RecordingTransport()
    provider = namespace_provider_for(
        upstream.url, token=TOKEN, chunk_size=500, transport=transport
    )
    with provider.around(BurstInfo(PROVIDER, "i", 1)) as context:
        page = provider.next(context, None)
    assert page.entities
    limits = {url.params["limit"] for url in transport.urls}
    assert limits == {"100"}


def test_a_namespace_deleted_while_its_components_are_walked_is_skipped(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=2)
    engine = build_engine(repository, clock, OnePagePerBurst(provider, clock))
    while True:  # until a namespace's components are half listed
        outcome = run_until(engine, clock, TickAction.BURST)[-1]
        mark = repository.last_mark(outcome.ingestion_id or "")
        assert mark is not None
        walk = NamespaceCursor.load(mark.cursor)
        if walk.stage is Stage.COMPONENTS and walk.listing.token is not None:
            break
    doomed = str(walk.namespaces.after)
    listed_before = set(stored_catalog(repository.engine))
    upstream.dataset.remove(doomed)

    with captured_events() as logs:
        complete_pass(engine, clock)

    [vanished] = [e for e in logs if e["event"].startswith("namespace vanished")]
    assert vanished["listing"] == f"listing components of {doomed}"
    catalog = stored_catalog(repository.engine)
    still = expected(upstream)
    leftovers = {ref for ref in listed_before if ref not in still}
    assert leftovers  # its Domain, Systems and first components came before the deletion
    assert set(catalog) == set(still) | leftovers
    assert {ref: catalog[ref] for ref in still} == still


def test_a_cursor_handed_back_unchanged_is_reported_not_looped_on(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(stuck_token=True, endpoints=["ns_components"])
    provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=2)
    engine = build_engine(repository, clock, provider)

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]

    assert outcome.note is not None
    assert "continue token did not advance" in outcome.note
    assert "listing components of " in outcome.note


@pytest.mark.parametrize("generation", ["namespaces", "orgs"])
def test_cursors_that_cycle_without_moving_forward_are_reported_in_both_generations(
    repository: SqlRepository, clock: ManualClock, generation: str
) -> None:
    """Cursors A, B, A, B...: each differs from the one sent; the organization-era walk used to
    loop forever on this."""
    with serve(SPEC, api=generation) as upstream:
        upstream.set_faults(cycle_token=True)
        if generation == "orgs":
            provider = provider_for(upstream.url, token=TOKEN, chunk_size=2)
        else:
            provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=2)
        engine = build_engine(repository, clock, provider)

        outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]

    assert outcome.note is not None
    assert "did not advance" in outcome.note
    assert f"{MAX_PAGES_WITHOUT_PROGRESS} pages in a row" in outcome.note


def test_cursors_that_always_expire_end_in_backoff_not_in_an_endless_restart(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(expire_rate=1.0, endpoints=["namespaces"])
    provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=1)
    outcome = run_until(
        build_engine(repository, clock, provider), clock, TickAction.BACKED_OFF, allow_backoff=True
    )[-1]
    assert outcome.note == (
        "CursorRejectedError: listing namespaces: the server answered HTTP 500 to the cursor 6 "
        "times in a row, none was honoured (expired or rejected cursors)"
    )


def test_a_wrong_token_is_an_error_that_names_the_request_not_the_token(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    wrong = "wrong-token-93b1"
    provider = namespace_provider_for(upstream.url, token=wrong, generation="auto")
    engine = build_engine(repository, clock, provider)
    outcome = run_until(engine, clock, TickAction.BACKED_OFF, allow_backoff=True)[-1]
    assert outcome.note is not None
    assert outcome.note.startswith("UpstreamError: GET /namespaces: HTTP 401 (UNAUTHORIZED")
    assert wrong not in outcome.note


@pytest.mark.parametrize(
    ("served", "detected"), [("namespaces", "namespaces"), ("orgs", "orgs"), ("both", "namespaces")]
)
def test_auto_detection_picks_the_generation_served_and_status_shows_it(
    repository: SqlRepository, clock: ManualClock, served: str, detected: str
) -> None:
    with serve(SPEC, api=served) as upstream:
        provider = namespace_provider_for(upstream.url, token=TOKEN, generation="auto")
        engine = build_engine(repository, clock, OnePagePerBurst(provider, clock))
        with captured_events() as logs:
            run_until(engine, clock, TickAction.BURST)
            [row] = status_rows(repository, Redactor(), PROVIDER, {PROVIDER: provider})
            assert row["current"]["walk"]["api"] == detected
            complete_pass(engine, clock)
        [row] = status_rows(repository, Redactor(), PROVIDER, {PROVIDER: provider})
        assert row["current"]["walk"]["api"] == detected  # resting: the finished pass's cursor
        probes = [e for e in logs if e["event"] == "OpenChoreo API generation detected"]
        assert [p["api"] for p in probes] == [detected]
        if detected == "namespaces":
            assert stored_catalog(repository.engine) == expected(upstream)
        by_endpoint = upstream.stats()["by_endpoint"]
        assert (by_endpoint["orgs"] > 0) == (detected == "orgs")
        assert (by_endpoint["ns_components"] > 0) == (detected == "namespaces")


def test_the_next_pass_sweeps_what_was_deleted_and_joins_what_was_added(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    """Added components are named ``<anchor>-n<serial>``, extending an existing name: their
    ``-workload`` sorts before the anchor's, so the listing leaves its components' order and
    the few components the join cannot place are looked up through the detail fan-out."""
    transport = RecordingTransport()
    provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=3, transport=transport)
    engine = build_engine(repository, clock, provider, options(rest_length=1))
    complete_pass(engine, clock)
    assert not [url for url in transport.urls if "component" in url.params]
    before = set(stored_catalog(repository.engine))
    response = upstream.control.post(
        "/_control/mutate", json={"add": 12, "change": 4, "remove": 3, "seed": 9}
    )
    assert response.status_code == 200, response.text

    second = complete_pass(engine, clock)

    still = expected(upstream)
    assert stored_catalog(repository.engine) == still
    assert second.removed == len(before - set(still))
    assert second.removed > 0
    lookups = [url for url in transport.urls if "component" in url.params]
    components = sum(1 for entity in still.values() if entity["kind"] == "Component")
    assert 0 < len(lookups) < components / 10


def test_items_repeated_across_pages_are_emitted_once(
    repository: SqlRepository, clock: ManualClock, upstream: Running
) -> None:
    upstream.set_faults(duplicate_rate=0.5, fault_seed=2)
    provider = namespace_provider_for(upstream.url, token=TOKEN, chunk_size=3)
    outcome = complete_pass(build_engine(repository, clock, provider), clock)
    assert stored_catalog(repository.engine) == expected(upstream)
    assert outcome.duplicates == 0
