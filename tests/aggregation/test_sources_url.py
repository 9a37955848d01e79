"""The ``url`` source against a real HTTP server on loopback, on PostgreSQL and SQLite:
conditional requests (a 304 keeps the document's entities without parsing it), upstream
failures (back off, sweep nothing), invalid payloads rejected one by one, secrets hidden."""

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import yaml

from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.sources.url_settings import UrlSourceSettings
from catalog_ingest.providers.sources.url_source import UrlSourceProvider
from models.sql_repository import SqlRepository
from tests.aggregation.document_server import Document, Served, serving
from tests.aggregation.source_files import component, ref
from tests.support.engine_harness import (
    build_engine,
    complete_pass,
    options,
    read_source,
    run_until,
)

SOURCE = "remote"


@pytest.fixture
def served() -> Iterator[Served]:
    with serving() as served:
        served.documents["/a.yaml"] = yaml_document([component("a1"), component("a2")], etag='"v1"')
        served.documents["/b"] = Document(
            json.dumps([component("b1")]).encode(),
            last_modified="Tue, 01 Dec 2026 03:00:00 GMT",
            content_type="application/json",
        )
        yield served


def yaml_document(entities: list[dict[str, object]], etag: str | None = None) -> Document:
    return Document(yaml.safe_dump_all(entities).encode(), etag=etag)


def url_source(served: Served, *paths: str, **settings: object) -> UrlSourceProvider:
    urls = [served.url + path for path in paths or ("/a.yaml", "/b")]
    return UrlSourceProvider(SOURCE, UrlSourceSettings(urls=urls, **settings), page_size=100)


def url_engine(
    repository: SqlRepository, clock: ManualClock, provider: UrlSourceProvider
) -> Engine:
    return build_engine(repository, clock, provider, options(backoff=[60]))


def stored_refs(db: sa.Engine) -> set[str]:
    return set(read_source(db, SOURCE))


ALL = {ref("a1"), ref("a2"), ref("b1")}


def test_an_unchanged_document_is_not_parsed_again_and_keeps_its_entities(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    provider = url_source(served)
    engine = url_engine(repository, clock, provider)
    complete_pass(engine, clock, SOURCE)
    assert stored_refs(db) == ALL
    assert provider.parsed == 2
    served.requests.clear()

    outcome = complete_pass(engine, clock, SOURCE)

    assert served.requests == [
        ("/a.yaml", '"v1"', None),
        ("/b", None, "Tue, 01 Dec 2026 03:00:00 GMT"),
    ]
    assert provider.parsed == 2  # both answered 304: nothing parsed
    assert outcome.removed == 0
    assert stored_refs(db) == ALL


def test_a_changed_document_is_parsed_and_what_it_lost_is_swept(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    provider = url_source(served)
    engine = url_engine(repository, clock, provider)
    complete_pass(engine, clock, SOURCE)

    served.documents["/a.yaml"] = yaml_document([component("a1", owner="x")], etag='"v2"')
    outcome = complete_pass(engine, clock, SOURCE)

    assert outcome.removed == 1
    assert provider.parsed == 3
    stored = read_source(db, SOURCE)
    assert set(stored) == {ref("a1"), ref("b1")}
    assert stored[ref("a1")].body["spec"]["owner"] == "x"


def test_a_process_without_the_copy_asks_unconditionally_and_keeps_everything(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    complete_pass(url_engine(repository, clock, url_source(served)), clock, SOURCE)
    served.requests.clear()

    other_process = url_engine(repository, clock, url_source(served))
    outcome = complete_pass(other_process, clock, SOURCE)

    assert [(tag, since) for _path, tag, since in served.requests] == [(None, None)] * 2
    assert outcome.removed == 0
    assert stored_refs(db) == ALL


@pytest.mark.parametrize("status", [500, 503, 404])
def test_an_upstream_error_backs_off_and_sweeps_nothing(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served, status: int
) -> None:
    engine = url_engine(repository, clock, url_source(served))
    complete_pass(engine, clock, SOURCE)
    served.documents["/b"] = Document(b"[]", content_type="application/json")  # b1 is gone
    served.status["/a.yaml"] = status

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]

    assert outcome.note == f"DocumentFetchError: GET {served.url}/a.yaml: HTTP {status}"
    assert stored_refs(db) == ALL

    del served.status["/a.yaml"]
    outcome = complete_pass(engine, clock, SOURCE, allow_backoff=True)
    assert outcome.removed == 1
    assert stored_refs(db) == {ref("a1"), ref("a2")}


def test_a_timeout_backs_off_and_sweeps_nothing(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    engine = url_engine(repository, clock, url_source(served, timeout_seconds=0.5))
    complete_pass(engine, clock, SOURCE)
    served.documents["/b"] = Document(b"[]", content_type="application/json")
    served.delay["/a.yaml"] = 1.5

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]

    assert outcome.note == f"DocumentFetchError: GET {served.url}/a.yaml: timed out"
    assert stored_refs(db) == ALL


def test_an_unreachable_server_backs_off(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    provider = UrlSourceProvider(
        SOURCE, UrlSourceSettings(urls=["http://127.0.0.1:1/x.yaml"]), page_size=100
    )
    engine = url_engine(repository, clock, provider)

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]

    assert outcome.note == "DocumentFetchError: GET http://127.0.0.1:1/x.yaml: ConnectError"


def test_invalid_payloads_are_validated_entity_by_entity(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    served.documents["/mixed.yaml"] = yaml_document([component("fine"), component("no good")])
    served.documents["/broken.json"] = Document(b"[{", content_type="application/json")
    engine = url_engine(repository, clock, url_source(served, "/mixed.yaml"))

    outcome = complete_pass(engine, clock, SOURCE)

    assert outcome.rejected == 1
    assert stored_refs(db) == {ref("fine")}
    broken = url_engine(repository, clock, url_source(served, "/broken.json"))
    outcome = run_until(broken, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]
    assert outcome.note is not None and "/broken.json: invalid JSON" in outcome.note


def test_headers_are_sent_and_secrets_in_the_url_are_never_shown(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, served: Served
) -> None:
    served.status["/a.yaml"] = 502
    provider = url_source(
        served, "/a.yaml?token=query-secret", headers={"Authorization": "Bearer header-secret"}
    )
    engine = url_engine(repository, clock, provider)

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]

    assert served.headers[0]["Authorization"] == "Bearer header-secret"
    assert outcome.note == f"DocumentFetchError: GET {served.url}/a.yaml: HTTP 502"
    assert "query-secret" not in (repository.list_ingestions(SOURCE)[0].last_error or "")
