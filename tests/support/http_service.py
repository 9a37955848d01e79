"""The HTTP service on a real uvicorn server on loopback, for tests.

``running_service(context)`` starts :func:`catalog_ingest.service.app.create_app` in a thread
on a free port and yields its base URL; ``tokens(...)`` builds an ``api:`` section.
"""

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from catalog_ingest.service.app import create_app
from catalog_ingest.service.context import ServiceContext

READ_TOKEN = "read-token-0123456789abcdef"
MANAGE_TOKEN = "manage-token-0123456789abcdef"
EVENTS_TOKEN = "events-token-0123456789abcdef"
ALL_TOKEN = "all-scopes-token-0123456789abcdef"
WRONG_TOKEN = "not-a-configured-token-0123456789"

API_SECTION: dict[str, Any] = {
    "tokens": [
        {"name": "reader", "token": READ_TOKEN, "scopes": ["read"]},
        {"name": "operator", "token": MANAGE_TOKEN, "scopes": ["manage"]},
        {"name": "upstream", "token": EVENTS_TOKEN, "scopes": ["events"]},
        {"name": "admin", "token": ALL_TOKEN, "scopes": ["read", "manage", "events"]},
    ]
}
"""One token per scope and one with all of them."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_service(context: ServiceContext, timeout: float = 20) -> Iterator[str]:
    """Serve ``context`` on 127.0.0.1:<free port>; yields ``http://127.0.0.1:<port>``."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(context), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP service did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def envelope_of(response: httpx.Response) -> Mapping[str, Any]:
    """The Backstage error envelope of an error answer, checked for its shape."""
    body: Mapping[str, Any] = response.json()
    assert set(body) == {"error", "request", "response"}, body
    assert set(body["error"]) >= {"name", "message"}, body
    assert body["response"] == {"statusCode": response.status_code}, body
    assert body["request"]["method"] == response.request.method, body
    assert body["request"]["url"] == response.request.url.path, body
    return body
