"""Serve an ASGI app with uvicorn in a daemon thread: for tests, the demo and the CLI."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 5.0


def _bind(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so the real port (for ``port=0``) is known at once.

    The protocol must be explicit: asyncio sets TCP_NODELAY only on accepted sockets whose
    ``proto`` is TCP, and without it every response waits ~40 ms for a delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:<port>``) while uvicorn serves ``app``.

    Uvicorn runs its own event loop in the thread, so requests are served concurrently. On
    exit the server stops; requests still running (an injected timeout) get one second.
    """
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="simulator-server", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread)
        bound_port = sock.getsockname()[1]
        yield f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the simulator server stopped during startup")
        if time.monotonic() > deadline:
            raise RuntimeError("the simulator server did not start in time")
        time.sleep(0.01)
