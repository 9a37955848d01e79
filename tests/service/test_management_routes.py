"""Backstage's incremental management routes on a real server: shapes, auth, the envelope,
and what each action does to the ingestion state (applied directly; the worker-driven
variant is in tests/celery/test_service_actions.py)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from catalog_ingest.contracts.states import NextAction, Status
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.service.context import ServiceContext
from tests.service.conftest import PROVIDER
from tests.support.http_service import (
    ALL_TOKEN,
    EVENTS_TOKEN,
    MANAGE_TOKEN,
    READ_TOKEN,
    WRONG_TOKEN,
    bearer,
    envelope_of,
)

BASE = "/api/catalog/incremental"
ROUTES = [
    ("GET", f"{BASE}/providers", "read"),
    ("GET", f"{BASE}/providers/{PROVIDER}", "read"),
    ("GET", f"{BASE}/providers/{PROVIDER}/marks", "read"),
    ("POST", f"{BASE}/providers/{PROVIDER}/trigger", "manage"),
    ("POST", f"{BASE}/providers/{PROVIDER}/start", "manage"),
    ("POST", f"{BASE}/providers/{PROVIDER}/cancel", "manage"),
    ("DELETE", f"{BASE}/providers/{PROVIDER}", "manage"),
    ("DELETE", f"{BASE}/providers/{PROVIDER}/marks", "manage"),
    ("POST", f"{BASE}/cleanup", "manage"),
]
PROVIDER_ROUTES = [(method, path) for method, path, _ in ROUTES if f"/{PROVIDER}" in path]
OTHER_SCOPE_TOKEN = {"read": MANAGE_TOKEN, "manage": READ_TOKEN}


def call(base_url: str, method: str, path: str, token: str | None = None) -> httpx.Response:
    headers = bearer(token) if token else {}
    return httpx.request(method, base_url + path, headers=headers, timeout=30)


def completed_pass(service: ServiceContext) -> None:
    outcome = service.runtime.engine.tick(PROVIDER)
    assert outcome.action is TickAction.PASS_COMPLETED, outcome


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_every_route_refuses_a_missing_or_wrong_token_and_a_token_without_its_scope(
    base_url: str, method: str, path: str, scope: str
) -> None:
    missing = call(base_url, method, path)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert envelope_of(missing)["error"]["name"] == "AuthenticationError"

    wrong = call(base_url, method, path, WRONG_TOKEN)
    assert wrong.status_code == 401
    assert WRONG_TOKEN not in wrong.text

    for token in (OTHER_SCOPE_TOKEN[scope], EVENTS_TOKEN):
        refused = call(base_url, method, path, token)
        assert refused.status_code == 403, refused.text
        assert envelope_of(refused)["error"]["name"] == "NotAllowedError"
        assert scope in refused.json()["error"]["message"]

    allowed = call(base_url, method, path, ALL_TOKEN)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["success"] is True


def test_health_is_open_and_reports_healthy(base_url: str) -> None:
    response = call(base_url, "GET", f"{BASE}/health")
    assert (response.status_code, response.json()) == (200, {"healthy": True})


@pytest.mark.parametrize(("method", "path"), PROVIDER_ROUTES)
def test_an_unknown_provider_is_a_404_in_backstages_envelope(
    base_url: str, method: str, path: str
) -> None:
    response = call(base_url, method, path.replace(f"/{PROVIDER}", "/nope"), ALL_TOKEN)
    assert response.status_code == 404
    body = envelope_of(response)
    assert body["error"]["name"] == "NotFoundError"
    assert "unknown provider 'nope'" in body["error"]["message"]


def test_bad_input_unknown_routes_and_methods_answer_in_the_envelope_never_a_500(
    base_url: str,
) -> None:
    too_long = call(base_url, "GET", f"{BASE}/providers/{'x' * 64}", ALL_TOKEN)
    assert too_long.status_code == 400
    assert envelope_of(too_long)["error"]["name"] == "InputError"
    missing_route = call(base_url, "GET", f"{BASE}/nothing-here", ALL_TOKEN)
    assert missing_route.status_code == 404
    envelope_of(missing_route)
    wrong_method = call(base_url, "PUT", f"{BASE}/providers/{PROVIDER}", ALL_TOKEN)
    assert wrong_method.status_code == 405
    envelope_of(wrong_method)


def test_provider_status_has_backstages_shape_and_the_pass_figures(
    base_url: str, service: ServiceContext
) -> None:
    before = call(base_url, "GET", f"{BASE}/providers/{PROVIDER}", READ_TOKEN).json()
    assert before["status"] == {
        "current_action": "rest complete, waiting to start",
        "next_action_at": None,
    }
    completed_pass(service)
    body = call(base_url, "GET", f"{BASE}/providers/{PROVIDER}", READ_TOKEN).json()
    current = service.runtime.repository.get_open(PROVIDER)
    assert current is not None
    assert body["success"] is True
    assert body["status"]["current_action"] == str(Status.RESTING) == current.status
    when = datetime.fromisoformat(body["status"]["next_action_at"])
    assert when == current.next_action_at
    assert body["last_error"] == current.last_error
    assert (body["current"]["pages"], body["current"]["entities"]) == (3, 300)
    assert body["current"]["phase"] == "done"
    assert body["current"]["pending_pages"] == 0
    assert body["current"]["rate_per_second"] > 0  # 300 entities marked within the minute
    assert body["current"]["eta_seconds"] is None  # the listing is over
    listed = call(base_url, "GET", f"{BASE}/providers", READ_TOKEN).json()
    assert listed == {"success": True, "providers": [PROVIDER]}


def test_marks_list_the_current_passs_pages_and_delete_clears_finished_passes(
    base_url: str, service: ServiceContext
) -> None:
    completed_pass(service)
    records = call(base_url, "GET", f"{BASE}/providers/{PROVIDER}/marks", READ_TOKEN).json()
    assert [r["sequence"] for r in records["records"]] == [1, 2, 3]
    assert sum(r["entity_count"] for r in records["records"]) == 300
    call(base_url, "POST", f"{BASE}/providers/{PROVIDER}/start", MANAGE_TOKEN)
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.REST_COMPLETED
    opened = service.runtime.repository.get_open(PROVIDER)
    assert opened is not None
    service.runtime.repository.request_cancel(opened.id, datetime.now(UTC))
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.CANCELED
    # finished now: the completed pass (kept: the newest completed) and the canceled one
    cleared = call(base_url, "DELETE", f"{BASE}/providers/{PROVIDER}/marks", MANAGE_TOKEN)
    assert cleared.json() == {
        "success": True,
        "message": f"Expired marks for provider '{PROVIDER}' removed.",
        "deletions": 1,
    }


def test_trigger_makes_the_rest_due_now(base_url: str, service: ServiceContext) -> None:
    completed_pass(service)
    response = call(base_url, "POST", f"{BASE}/providers/{PROVIDER}/trigger", MANAGE_TOKEN)
    assert response.json()["message"] == f"{PROVIDER}: Next action triggered."
    assert response.json()["detail"] == "next action 'rest' is due now"
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.REST_COMPLETED


def test_start_cancels_the_running_pass_and_a_new_one_opens(
    base_url: str, service: ServiceContext
) -> None:
    repository = service.runtime.repository
    opened = repository.open_ingestion(PROVIDER, datetime.now(UTC))
    repository.make_due(opened.id, datetime.now(UTC), NextAction.INGEST)
    with_pages = repository.get_open(PROVIDER)
    assert with_pages is not None
    fence = repository.take_fence(with_pages.id)
    repository.start_burst(with_pages.id, fence, datetime.now(UTC), "test")
    response = call(base_url, "POST", f"{BASE}/providers/{PROVIDER}/start", MANAGE_TOKEN)
    assert response.json()["message"] == f"{PROVIDER}: Next cycle triggered."
    assert repository.get_open(PROVIDER).next_action is NextAction.CANCEL  # type: ignore[union-attr]
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.CANCELED


def test_cancel_closes_the_pass_and_pauses_the_provider_for_a_day(
    base_url: str, service: ServiceContext
) -> None:
    repository = service.runtime.repository
    running = repository.open_ingestion(PROVIDER, datetime.now(UTC))
    fence = repository.take_fence(running.id)
    response = call(base_url, "POST", f"{BASE}/providers/{PROVIDER}/cancel", MANAGE_TOKEN)
    assert response.json()["message"] == f"{PROVIDER}: Current ingestion canceled."
    closed = [i for i in repository.list_ingestions(PROVIDER) if i.id == running.id]
    assert closed[0].next_action is NextAction.CANCELED
    paused = repository.get_open(PROVIDER)
    assert paused is not None and paused.status is Status.PAUSED
    assert paused.next_action_at - datetime.now(UTC) > timedelta(hours=23, minutes=59)
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.NOT_DUE
    with pytest.raises(Exception, match="canceled"):  # the old burst's next write is refused
        repository.start_burst(running.id, fence, datetime.now(UTC), "stale")
    call(base_url, "POST", f"{BASE}/providers/{PROVIDER}/trigger", MANAGE_TOKEN)
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.PASS_COMPLETED


def test_reset_purges_the_state_and_cleanup_pauses_every_provider(
    base_url: str, service: ServiceContext
) -> None:
    repository = service.runtime.repository
    completed_pass(service)
    reset = call(base_url, "DELETE", f"{BASE}/providers/{PROVIDER}", MANAGE_TOKEN).json()
    assert reset["detail"] == "purged 1 ingestion record(s); fresh pass"
    fresh = repository.get_open(PROVIDER)
    assert fresh is not None and fresh.pages == 0
    cleaned = call(base_url, "POST", f"{BASE}/cleanup", MANAGE_TOKEN).json()
    assert cleaned["providers"] == [
        {
            "success": True,
            "message": f"{PROVIDER}: purged; paused until triggered",
            "detail": None,
            "taskId": None,
        }
    ]
    assert repository.get_open(PROVIDER).next_action is NextAction.PAUSE  # type: ignore[union-attr]


def test_only_health_and_metrics_are_open_the_openapi_document_needs_read(base_url: str) -> None:
    assert call(base_url, "GET", "/openapi.json").status_code == 401
    document = call(base_url, "GET", "/openapi.json", READ_TOKEN)
    assert document.status_code == 200
    assert f"{BASE}/providers/{{name}}/cancel" in document.json()["paths"]
    for page in ("/docs", "/redoc"):
        assert call(base_url, "GET", page).status_code == 404
    assert call(base_url, "GET", f"{BASE}/health").status_code == 200
    assert call(base_url, "GET", "/metrics").status_code == 200
