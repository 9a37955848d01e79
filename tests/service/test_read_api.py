"""Backstage's catalog read routes on a real server, PostgreSQL and SQLite: filters, fields,
ordering, keyset cursors both ways, totals, facets, by-name, by-refs, ``/entities`` with its
``Link`` paging, the envelope and auth. Every expected answer comes from the merged catalog
itself (its tables), never from the projection the routes read."""

import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.service.context import ServiceContext, build_context
from models.catalog_reads import count_by_kind, iter_entities
from models.change_feed import purge_tombstones
from models.search_projection import lag
from tests.service.conftest import PROVIDER, write_service_config
from tests.support.http_service import (
    MANAGE_TOKEN,
    READ_TOKEN,
    WRONG_TOKEN,
    bearer,
    envelope_of,
    running_service,
)

PUSH_TOKEN = "push-token-0123456789abcdef"
CATALOG = "/api/catalog"
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", f"{CATALOG}/entities/by-query", None),
    ("GET", f"{CATALOG}/entities/by-name/component/default/x", None),
    ("POST", f"{CATALOG}/entities/by-refs", {"entityRefs": []}),
    ("GET", f"{CATALOG}/entity-facets?facet=kind", None),
    ("GET", f"{CATALOG}/entities", None),
]
HANDMADE: list[dict[str, Any]] = [
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "MixedCase-Service",
            "namespace": "payments",
            "tags": ["java", "Spring"],
            "annotations": {"backstage.io/techdocs-ref": "dir:."},
        },
        "spec": {"type": "Website", "lifecycle": "experimental", "owner": "team-pay"},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "team-pay", "namespace": "payments"},
        "spec": {"type": "team", "children": []},
    },
]


@dataclass
class Reader:
    base_url: str
    context: ServiceContext
    source: str

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(
            self.base_url + CATALOG + path, params=params, headers=bearer(READ_TOKEN), timeout=60
        )

    def ok(self, path: str, **params: Any) -> Any:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def push(self, entities: list[dict[str, Any]]) -> None:
        answer = httpx.put(
            f"{self.base_url}{CATALOG}/sources/{self.source}/entities",
            json={"entities": entities},
            headers=bearer(PUSH_TOKEN),
        )
        assert answer.status_code == 200, answer.text

    def catalog(self) -> list[dict[str, Any]]:
        """The merged catalog, read from its own tables."""
        return list(iter_entities(self.context.runtime.database))


@pytest.fixture
def reader(tmp_path: Path, service_database_url: str) -> Iterator[Reader]:
    source = f"handmade-{secrets.token_hex(3)}"  # the push lock lives in a shared Redis
    path = write_service_config(
        tmp_path / "ingest.yaml",
        service_database_url,
        sources=[
            {"name": source, "type": "push", "priority": 5, "settings": {"token": PUSH_TOKEN}}
        ],
    )
    context = build_context(load_config(path))
    try:
        outcome = context.runtime.engine.tick(PROVIDER)
        assert outcome.action is TickAction.PASS_COMPLETED, outcome
        with running_service(context) as base_url:
            reader = Reader(base_url, context, source)
            reader.push(HANDMADE)
            yield reader
    finally:
        context.close()


def ref_of(entity: dict[str, Any]) -> str:
    metadata = entity["metadata"]
    return f"{entity['kind'].lower()}:{metadata.get('namespace', 'default')}/{metadata['name']}"


def lower(value: Any) -> str:
    return str(value).lower()


def stored(reader: Reader, ref: str) -> dict[str, Any]:
    """The merged entity of ``ref``, read from the catalog's tables."""
    return next(entity for entity in reader.catalog() if ref_of(entity) == ref)


def expected_refs(reader: Reader, keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    return sorted(ref_of(entity) for entity in reader.catalog() if keep(entity))


def walk(reader: Reader, **params: Any) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Every page of a by-query listing, following ``nextCursor``; (pages, answers)."""
    answer = reader.ok("/entities/by-query", **params)
    answers = [answer]
    while "nextCursor" in answer["pageInfo"]:
        extra = {key: params[key] for key in ("limit", "fields") if key in params}
        answer = reader.ok("/entities/by-query", cursor=answer["pageInfo"]["nextCursor"], **extra)
        answers.append(answer)
        assert len(answers) < 1000
    return [page["items"] for page in answers], answers


def test_pages_by_cursor_cover_a_filter_once_each_way_with_the_total(reader: Reader) -> None:
    expected = expected_refs(reader, lambda e: lower(e["kind"]) == "component")
    pages, answers = walk(reader, filter="kind=component", limit=37)
    listed = [ref_of(item) for page in pages for item in page]
    assert listed == expected  # by ref, none skipped, none repeated
    assert all(len(page) == 37 for page in pages[:-1]) and len(pages) > 5
    assert {answer["totalItems"] for answer in answers} == {len(expected)}
    assert "prevCursor" not in answers[0]["pageInfo"]
    assert all("prevCursor" in answer["pageInfo"] for answer in answers[1:])
    assert "nextCursor" not in answers[-1]["pageInfo"]

    back = [answers[-1]]
    while "prevCursor" in back[-1]["pageInfo"]:
        back.append(
            reader.ok("/entities/by-query", cursor=back[-1]["pageInfo"]["prevCursor"], limit=37)
        )
    assert [[ref_of(i) for i in a["items"]] for a in reversed(back[1:])] == [
        [ref_of(i) for i in page] for page in pages[:-1]
    ]


def test_filters_or_and_exists_and_values_are_case_insensitive(reader: Reader) -> None:
    def spec_type(entity: dict[str, Any]) -> str | None:
        value = entity.get("spec", {}).get("type")
        return None if value is None else lower(value)

    cases: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"filter": ["kind=system", "kind=API"]}, lambda e: lower(e["kind"]) in {"system", "api"}),
        ({"filter": "kind=System,kind=api"}, lambda e: lower(e["kind"]) in {"system", "api"}),
        (
            {"filter": "KIND=CoMpOnEnT,spec.type=SERVICE"},
            lambda e: lower(e["kind"]) == "component" and spec_type(e) == "service",
        ),
        ({"filter": "spec.type"}, lambda e: spec_type(e) is not None),
        ({"filter": "spec.type=website"}, lambda e: spec_type(e) == "website"),
        (
            {"filter": "metadata.namespace=PAYMENTS"},
            lambda e: e["metadata"]["namespace"] == "payments",
        ),
        (
            {"filter": "metadata.annotations.backstage.io/techdocs-ref=DIR:."},
            lambda e: "backstage.io/techdocs-ref" in e["metadata"].get("annotations", {}),
        ),
        ({"filter": "metadata.tags.java"}, lambda e: "java" in e["metadata"].get("tags", [])),
        ({"filter": "metadata.tags=spring"}, lambda e: "Spring" in e["metadata"].get("tags", [])),
        ({"filter": "kind=nothing-like-this"}, lambda e: False),
    ]
    for params, keep in cases:
        expected = expected_refs(reader, keep)
        pages, answers = walk(reader, limit=100, **params)
        assert sorted(ref_of(item) for page in pages for item in page) == expected, params
        assert answers[0]["totalItems"] == len(expected), params
    assert len(expected_refs(reader, lambda e: True)) > 300


def test_fields_keep_only_the_given_paths(reader: Reader) -> None:
    answer = reader.ok(
        "/entities/by-query",
        filter="kind=component,metadata.namespace=payments",
        fields="kind,metadata.name,metadata.annotations.backstage.io/techdocs-ref,spec.nope",
    )
    assert answer["items"] == [
        {
            "kind": "Component",
            "metadata": {
                "name": "MixedCase-Service",
                "annotations": {"backstage.io/techdocs-ref": "dir:."},
            },
        }
    ]
    by_refs = httpx.post(
        reader.base_url + CATALOG + "/entities/by-refs",
        json={"entityRefs": ["group:payments/team-pay"], "fields": ["metadata.name", "spec"]},
        headers=bearer(READ_TOKEN),
    ).json()
    assert by_refs == {"items": [{"metadata": {"name": "team-pay"}, "spec": HANDMADE[1]["spec"]}]}


def test_order_field_both_ways_puts_entities_without_the_field_last(reader: Reader) -> None:
    catalog = reader.catalog()
    names = sorted((lower(e["metadata"]["name"]), ref_of(e)) for e in catalog)
    pages, _ = walk(reader, orderField="metadata.name,desc", limit=50, fields="kind,metadata")
    assert [ref_of(item) for page in pages for item in page] == [r for _, r in reversed(names)]

    valued = sorted((lower(e["spec"]["type"]), ref_of(e)) for e in catalog if "type" in e["spec"])
    unvalued = sorted(ref_of(e) for e in catalog if "type" not in e["spec"])
    assert valued and unvalued
    pages, answers = walk(reader, orderField="spec.type", limit=45, fields="kind,metadata")
    assert [ref_of(item) for page in pages for item in page] == [r for _, r in valued] + unvalued
    assert answers[0]["totalItems"] == len(catalog)

    back = [answers[-1]]  # back from the unvalued tail into the valued part
    while "prevCursor" in back[-1]["pageInfo"]:
        cursor = back[-1]["pageInfo"]["prevCursor"]
        back.append(reader.ok("/entities/by-query", cursor=cursor, limit=45))
    assert [ref_of(i) for a in reversed(back[1:]) for i in a["items"]] == [
        ref_of(i) for page in pages[:-1] for i in page
    ]


def test_full_text_filter_searches_the_given_fields(reader: Reader) -> None:
    expected = expected_refs(reader, lambda e: "0000042" in e["metadata"]["name"])
    assert expected
    answer = reader.ok("/entities/by-query", fullTextFilterTerm=" 0000042 ", limit=100)
    assert sorted(ref_of(item) for item in answer["items"]) == expected
    by_owner = reader.ok(
        "/entities/by-query",
        fullTextFilterTerm="TEAM-PAY",
        fullTextFilterFields="spec.owner,metadata.name",
        limit=100,
    )
    assert sorted(ref_of(item) for item in by_owner["items"]) == [
        "component:payments/MixedCase-Service",
        "group:payments/team-pay",
    ]
    wildcard = reader.ok("/entities/by-query", fullTextFilterTerm="%", limit=5)
    assert wildcard["items"] == [] and wildcard["totalItems"] == 0


def test_by_name_finds_an_entity_case_insensitively_and_404s_otherwise(reader: Reader) -> None:
    entity = reader.ok("/entities/by-name/COMPONENT/Payments/mixedcase-service")
    assert entity == stored(reader, "component:payments/MixedCase-Service")
    assert entity["metadata"]["tags"] == ["java", "Spring"]
    exact = reader.ok("/entities/by-name/Component/payments/MixedCase-Service")
    assert exact == entity
    missing = reader.get("/entities/by-name/component/default/nobody")
    assert missing.status_code == 404
    assert envelope_of(missing)["error"]["name"] == "NotFoundError"


def test_by_refs_answers_in_request_order_with_nulls(reader: Reader) -> None:
    synthetic = expected_refs(reader, lambda e: lower(e["kind"]) == "api")[:3]
    refs = [synthetic[2], "component:default/nobody", "Group:Payments/TEAM-PAY", synthetic[0]]
    url = reader.base_url + CATALOG + "/entities/by-refs"
    answer = httpx.post(url, json={"entityRefs": refs}, headers=bearer(READ_TOKEN))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [None if item is None else ref_of(item) for item in items] == [
        synthetic[2],
        None,
        "group:payments/team-pay",
        synthetic[0],
    ]
    filtered = httpx.post(
        url, params={"filter": "kind=group"}, json={"entityRefs": refs}, headers=bearer(READ_TOKEN)
    ).json()["items"]
    assert [item is not None for item in filtered] == [False, False, True, False]


def test_facets_count_what_the_catalog_holds(reader: Reader) -> None:
    answer = reader.ok("/entity-facets", facet=["kind", "spec.type", "metadata.tags"])
    kinds = count_by_kind(reader.context.runtime.database)  # SQL over the catalog's tables
    assert {f["value"]: f["count"] for f in answer["facets"]["kind"]} == kinds
    types = Counter(e["spec"]["type"] for e in reader.catalog() if "type" in e["spec"])
    assert {f["value"]: f["count"] for f in answer["facets"]["spec.type"]} == dict(types)
    tags = {f["value"]: f["count"] for f in answer["facets"]["metadata.tags"]}
    assert tags == {"java": 1, "Spring": 1}
    components = reader.ok("/entity-facets", facet="spec.type", filter="kind=component")
    expected = Counter(e["spec"]["type"] for e in reader.catalog() if e["kind"] == "Component")
    assert {f["value"]: f["count"] for f in components["facets"]["spec.type"]} == dict(expected)


def test_entities_lists_everything_or_pages_with_link_headers(reader: Reader) -> None:
    catalog = sorted(ref_of(e) for e in reader.catalog())
    everything = reader.ok("/entities")
    assert sorted(ref_of(e) for e in everything) == catalog and len(everything) == len(catalog)

    listed: list[str] = []
    answer = reader.get("/entities", limit=80, filter="kind=component", fields="kind,metadata")
    while True:
        assert answer.status_code == 200, answer.text
        listed += [ref_of(e) for e in answer.json()]
        link = answer.headers.get("link")
        if link is None:
            break
        assert link.startswith(f"<{CATALOG}/entities?") and link.endswith('>; rel="next"')
        answer = httpx.get(reader.base_url + link[1 : link.index(">")], headers=bearer(READ_TOKEN))
    assert listed == expected_refs(reader, lambda e: e["kind"] == "Component")

    ordered = reader.ok("/entities", order="desc:metadata.name", filter="kind=system")
    names = [e["metadata"]["name"] for e in ordered]
    assert names == sorted(names, reverse=True) and names


def test_the_read_api_follows_changes_and_removals_at_once(reader: Reader) -> None:
    changed = {**HANDMADE[0], "spec": {**HANDMADE[0]["spec"], "type": "library"}}
    reader.push([changed, HANDMADE[1]])
    entity = reader.ok("/entities/by-name/component/payments/MixedCase-Service")
    assert entity["spec"] == changed["spec"]
    assert entity == stored(reader, "component:payments/MixedCase-Service")
    assert reader.ok("/entities/by-query", filter="spec.type=website")["totalItems"] == 0
    deleted = httpx.delete(
        f"{reader.base_url}{CATALOG}/sources/{reader.source}/entities",
        params={"ref": ["group:payments/team-pay"]},
        headers=bearer(PUSH_TOKEN),
    )
    assert deleted.status_code == 200, deleted.text
    assert reader.get("/entities/by-name/group/payments/team-pay").status_code == 404
    assert reader.ok("/entities/by-query", filter="kind=group")["items"] == []


def test_a_removal_whose_tombstone_was_purged_unread_still_leaves_the_read_api(
    reader: Reader,
) -> None:
    assert reader.ok("/entities/by-query", filter="kind=group")["totalItems"] == 1
    deleted = httpx.delete(  # the push route writes the catalog; nothing reads the feed yet
        f"{reader.base_url}{CATALOG}/sources/{reader.source}/entities",
        params={"ref": ["group:payments/team-pay"]},
        headers=bearer(PUSH_TOKEN),
    )
    assert deleted.status_code == 200, deleted.text
    database = reader.context.runtime.database
    with database.begin() as connection:
        purged = purge_tombstones(connection, datetime.now(UTC) + timedelta(days=1), 100)
    assert purged == 1
    assert reader.ok("/entities/by-query", filter="kind=group") == {
        "items": [],
        "totalItems": 0,
        "pageInfo": {},
    }
    assert reader.get("/entities/by-name/group/payments/team-pay").status_code == 404
    assert lag(database) == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/entities/by-query", {"cursor": "not-a-cursor"}),
        ("/entities/by-query", {"cursor": "eyJmaWx0ZXIiOiAxfQ=="}),
        ("/entities/by-query", {"orderField": "metadata.name,sideways"}),
        ("/entities/by-query", {"filter": "=x"}),
        ("/entities/by-query", {"offset": 5}),
        ("/entities/by-query", {"limit": -1}),
        ("/entity-facets", {}),
        ("/entities", {"order": "metadata.name"}),
        ("/entities", {"after": "%%%"}),
    ],
)
def test_bad_input_is_a_400_in_backstages_envelope(
    reader: Reader, path: str, params: dict[str, Any]
) -> None:
    answer = reader.get(path, **params)
    assert answer.status_code == 400, answer.text
    assert envelope_of(answer)["error"]["name"] == "InputError"


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_read_route_needs_a_token_with_the_read_scope(
    service: ServiceContext, base_url: str, method: str, path: str, body: Any
) -> None:
    for headers, status in (({}, 401), (bearer(WRONG_TOKEN), 401), (bearer(MANAGE_TOKEN), 403)):
        answer = httpx.request(method, base_url + path, json=body, headers=headers)
        assert answer.status_code == status, (path, answer.text)
        envelope_of(answer)
    allowed = httpx.request(method, base_url + path, json=body, headers=bearer(READ_TOKEN))
    assert allowed.status_code == (404 if "by-name" in path else 200), allowed.text
