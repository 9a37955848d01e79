"""Pushes over HTTP into a push source: its own token only, upsert and delete applied at once
under the source's lock, bad bodies a 4xx; the generic event ingress does not take pushes."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.service.context import ServiceContext, build_context
from tests.aggregation.source_files import component, ref
from tests.service.conftest import write_service_config
from tests.support.http_service import ALL_TOKEN, bearer, envelope_of, running_service

PUSH_TOKEN = "push-token-0123456789abcdef"
Pushed = tuple[str, str, ServiceContext]
"""The service's base URL, the push source's name, the service's context."""


@pytest.fixture
def pushed(tmp_path: Path, service_database_url: str) -> Iterator[Pushed]:
    source = f"crm-{secrets.token_hex(3)}"  # the lock lives in a shared Redis database
    path = write_service_config(
        tmp_path / "ingest.yaml",
        service_database_url,
        sources=[
            {"name": source, "type": "push", "priority": 5, "settings": {"token": PUSH_TOKEN}}
        ],
    )
    context = build_context(load_config(path))
    try:
        with running_service(context) as base_url:
            yield base_url, source, context
    finally:
        context.close()


def entities_url(base_url: str, source: str) -> str:
    return f"{base_url}/api/catalog/sources/{source}/entities"


def test_a_push_needs_the_sources_own_token(pushed: Pushed) -> None:
    base_url, source, _ = pushed
    body = {"entities": [component("one")]}
    for headers in ({}, bearer(ALL_TOKEN), bearer("x" * 30)):
        refused = httpx.put(entities_url(base_url, source), json=body, headers=headers)
        assert refused.status_code == 401, refused.text
        envelope_of(refused)
    unknown = httpx.put(entities_url(base_url, "synth"), json=body, headers=bearer(PUSH_TOKEN))
    assert unknown.status_code == 400  # a provider, not a push source
    assert "not a push source" in envelope_of(unknown)["error"]["message"]
    missing = httpx.put(entities_url(base_url, "nope"), json=body, headers=bearer(PUSH_TOKEN))
    assert missing.status_code == 404


def test_put_upserts_and_delete_removes_and_invalid_entities_are_counted(
    pushed: Pushed,
) -> None:
    base_url, source, context = pushed
    url = entities_url(base_url, source)
    headers = bearer(PUSH_TOKEN)
    entities = [component("one"), component("two"), component("bad name!")]
    put = httpx.put(url, json={"entities": entities}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json() == {"source": source, "upserted": 2, "removed": 0, "rejected": 1}
    stored = context.runtime.repository.stored_entities(source, [ref("one"), ref("two")])
    assert set(stored) == {ref("one"), ref("two")}

    deleted = httpx.delete(url, params={"ref": [ref("one")]}, headers=headers)
    assert deleted.json() == {"source": source, "upserted": 0, "removed": 1, "rejected": 0}
    remaining = context.runtime.repository.stored_entities(source, [ref("one"), ref("two")])
    assert set(remaining) == {ref("two")}


def test_bad_bodies_are_400s_and_the_event_ingress_refuses_pushes(
    pushed: Pushed,
) -> None:
    base_url, source, _ = pushed
    url = entities_url(base_url, source)
    for content in (b"not json", b"[]", b'{"entities": {}}', b'{"entities": [], "x": 1}'):
        answer = httpx.put(url, content=content, headers=bearer(PUSH_TOKEN))
        assert answer.status_code == 400, (content, answer.text)
        envelope_of(answer)
    via_events = httpx.post(
        f"{base_url}/api/events/http/push",
        json={"entities": [component("sneaky")]},
        headers=bearer(ALL_TOKEN),
    )
    assert via_events.status_code == 404
    assert "source's token" in envelope_of(via_events)["error"]["message"]
