"""``POST /api/events/http/{topic}`` on a real uvicorn server, with real PostgreSQL, SQLite and
Redis: auth, every status code, the size limit, the task it enqueues on the broker (read back
from Redis), and the event applied at once without a broker. The delivery through a real
worker is in ``tests/celery/test_event_ingress.py``.

The OpenChoreo simulator (namespace era) runs in this process on a loopback port.
"""

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from sqlalchemy import select

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.service.context import ServiceContext, build_context
from catalog_ingest.simulator.spec import DatasetSpec
from models.tables import catalog_entities
from tests.support.databases import scratch_postgres_database
from tests.support.http_service import (
    API_SECTION,
    EVENTS_TOKEN,
    MANAGE_TOKEN,
    READ_TOKEN,
    WRONG_TOKEN,
    bearer,
    envelope_of,
    running_service,
)
from tests.support.simulator_harness import Running, running
from workers.task_sender import TaskSender

SPEC = DatasetSpec(orgs=2, projects=2, components=4, seed=6)
TOPIC = "openchoreo"
LIMIT = 4096
"""``api.max_event_bytes`` of these tests."""


def openchoreo(name: str, url: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "openchoreo",
        "options": {"burst_length": 1, "burst_interval": 5, "rest_length": 1},
        "settings": {"baseUrl": f"{url}/api/v1", "apiGeneration": "namespaces", "retries": 0},
    }


SYNTHETIC = {"name": "synth", "type": "synthetic", "settings": {"entities": 10}}
"""Takes no events: never sent one."""


def service_for(
    tmp_path: Path, database_url: str, redis_url: str, providers: list[dict[str, Any]]
) -> ServiceContext:
    path = tmp_path / "ingest.yaml"
    document = {
        "database_url": database_url,
        "redis_url": redis_url,
        "providers": providers,
        "api": {**API_SECTION, "max_event_bytes": LIMIT},
    }
    path.write_text(yaml.safe_dump(document))
    return build_context(load_config(path, environ={}))


@pytest.fixture
def upstream() -> Iterator[Running]:
    with running(SPEC) as sim:
        yield sim


@pytest.fixture
def enqueuing(tmp_path: Path, upstream: Running, redis_url: str) -> Iterator[ServiceContext]:
    """PostgreSQL: events are enqueued for the workers, two providers take the topic."""
    providers = [openchoreo("oc-a", upstream.url), openchoreo("oc-b", upstream.url), SYNTHETIC]
    with scratch_postgres_database("ingest_ingress") as database_url:
        context = service_for(tmp_path, database_url, redis_url, providers)
        assert context.sender is not None
        yield context
        context.close()
        context.sender.app.close()


@pytest.fixture
def direct(tmp_path: Path, upstream: Running, redis_url: str) -> Iterator[ServiceContext]:
    """SQLite: events are applied at once, under the provider's Redis lock."""
    database_url = f"sqlite:///{tmp_path / 'ingress.db'}"
    context = service_for(tmp_path, database_url, redis_url, [openchoreo("oc", upstream.url)])
    assert context.sender is None
    yield context
    context.close()


def post(
    base_url: str, topic: str, body: Any, token: str | None = EVENTS_TOKEN, **options: Any
) -> httpx.Response:
    headers = bearer(token) if token else {}
    if not isinstance(body, (bytes, Iterator)):
        body = json.dumps(body).encode()
    return httpx.post(
        f"{base_url}/api/events/http/{topic}", content=body, headers=headers, timeout=60, **options
    )


def component_event(path: str, action: str) -> dict[str, Any]:
    namespace, _, name = path.split("/")
    return {"kind": "component", "name": name, "namespace": namespace, "action": action}


def queued_tasks(redis_url: str) -> list[dict[str, Any]]:
    """The task messages waiting in the broker's ``ingest`` queue (kombu's Redis transport)."""
    client = redis.Redis.from_url(redis_url)
    try:
        messages = [json.loads(raw) for raw in client.lrange("ingest", 0, -1)]
    finally:
        client.close()
    tasks = []
    for message in messages:
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        headers = message["headers"]
        tasks.append({"task": headers["task"], "id": headers["id"], "args": args})
    return tasks


def test_the_route_needs_the_events_scope(enqueuing: ServiceContext) -> None:
    event = {"kind": "project", "name": "p", "namespace": "n", "action": "created"}
    with running_service(enqueuing) as url:
        missing = post(url, TOPIC, event, token=None)
        wrong = post(url, TOPIC, event, token=WRONG_TOKEN)
        scopeless = [post(url, TOPIC, event, token=t) for t in (READ_TOKEN, MANAGE_TOKEN)]
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert envelope_of(missing)["error"]["name"] == "AuthenticationError"
    assert wrong.status_code == 401
    assert WRONG_TOKEN not in wrong.text
    for refused in scopeless:
        assert refused.status_code == 403
        assert "'events' scope" in envelope_of(refused)["error"]["message"]
    assert queued_tasks(enqueuing.config.redis_url) == []


def test_an_event_is_enqueued_for_every_provider_taking_the_topic(
    enqueuing: ServiceContext,
) -> None:
    event = component_event("ns-0/proj-0/comp-0", "updated")
    with running_service(enqueuing) as url:
        response = post(url, TOPIC, event)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] is True
    assert body["topic"] == TOPIC
    assert [task["provider"] for task in body["tasks"]] == ["oc-a", "oc-b"]
    queued = queued_tasks(enqueuing.config.redis_url)
    assert sorted(queued, key=lambda task: task["args"][0]) == [
        {"task": "ingest.event", "id": task["taskId"], "args": [task["provider"], TOPIC, event]}
        for task in body["tasks"]
    ]


def test_a_topic_no_provider_takes_is_a_404(enqueuing: ServiceContext) -> None:
    with running_service(enqueuing) as url:
        response = post(url, "github", {"action": "push"})
    assert response.status_code == 404
    body = envelope_of(response)
    assert body["error"]["name"] == "NotFoundError"
    assert "no provider takes events on topic 'github'" in body["error"]["message"]
    assert queued_tasks(enqueuing.config.redis_url) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[" * 1100 + b"]" * 1100, "not valid JSON"),  # deeper than orjson allows
        (b"[1, 2]", "must be a JSON object, got list"),
        (b'"text"', "must be a JSON object, got str"),
        (b"null", "must be a JSON object, got NoneType"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(
    enqueuing: ServiceContext, body: bytes, says: str
) -> None:
    with running_service(enqueuing) as url:
        response = post(url, TOPIC, body)
    assert response.status_code == 400, response.text
    envelope = envelope_of(response)
    assert envelope["error"]["name"] == "InputError"
    assert says in envelope["error"]["message"]
    assert queued_tasks(enqueuing.config.redis_url) == []


def test_a_body_over_the_limit_is_a_413_declared_or_streamed(enqueuing: ServiceContext) -> None:
    big = {"kind": "component", "padding": "x" * LIMIT}
    at_limit = json.dumps({"kind": "component", "pad": ""}).encode()
    at_limit = json.dumps({"kind": "component", "pad": "x" * (LIMIT - len(at_limit))}).encode()
    assert len(at_limit) == LIMIT

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, cut off while read
        yield b'{"padding": "'
        for _ in range(1000):
            yield b"x" * 1024
        yield b'"}'

    with running_service(enqueuing) as url:
        declared = post(url, TOPIC, big)
        streamed = post(url, TOPIC, chunks())
        accepted = post(url, TOPIC, at_limit)

    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert f"larger than {LIMIT} bytes" in envelope_of(response)["error"]["message"]
    assert accepted.status_code == 202, accepted.text
    assert len(queued_tasks(enqueuing.config.redis_url)) == 2  # oc-a and oc-b: the last only


def test_without_a_broker_the_event_is_applied_at_once(
    direct: ServiceContext, upstream: Running
) -> None:
    [path] = upstream.dataset.mutate(add=1, seed=4, levels=("component",)).added
    namespace, _, name = path.split("/")

    with running_service(direct) as url:
        created = post(url, TOPIC, component_event(path, "created"))
        refused = post(url, TOPIC, {"kind": "component", "action": "created"})

    assert created.status_code == 200, created.text
    [outcome] = created.json()["outcomes"]
    assert outcome["provider"] == "oc"
    assert outcome["status"] == "applied"
    assert outcome["added"] >= 1
    with direct.runtime.database.connect() as connection:
        refs = set(connection.execute(select(catalog_entities.c.ref)).scalars())
    assert f"component:{namespace}/{name}" in refs
    assert refused.status_code == 400, refused.text  # the provider refused the payload
    assert "openchoreo event" in envelope_of(refused)["error"]["message"]


def test_an_unreachable_broker_is_a_503(tmp_path: Path, upstream: Running) -> None:
    database_url = f"sqlite:///{tmp_path / 'ingress.db'}"
    context = service_for(
        tmp_path, database_url, "redis://127.0.0.1:1/0", [openchoreo("oc", upstream.url)]
    )
    context = ServiceContext(
        context.config, context.runtime, TaskSender(context.config), context.insecure_local
    )
    try:
        with running_service(context) as url:
            response = post(url, TOPIC, component_event("ns/proj/comp", "created"))
    finally:
        context.close()
    assert response.status_code == 503, response.text
    assert envelope_of(response)["error"]["name"] == "ServiceUnavailableError"
