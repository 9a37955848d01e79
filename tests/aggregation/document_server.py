"""A tiny HTTP server of entity documents on a loopback port, in a thread: ETag and
Last-Modified validators, 304 answers to conditional requests, forced statuses, and a record
of every request's path and conditional headers."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Document:
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = "application/yaml"


@dataclass
class Served:
    """What the server serves (edit it between passes) and what it was asked."""

    url: str = ""
    documents: dict[str, Document] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    """Path -> a status answered instead of the document (e.g. 503)."""
    delay: dict[str, float] = field(default_factory=dict)
    """Path -> seconds to wait before answering (timeouts)."""
    requests: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    """(path without query, If-None-Match, If-Modified-Since) of every request."""
    headers: list[dict[str, str]] = field(default_factory=list)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            tag, since = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            served.requests.append((path, tag, since))
            served.headers.append(dict(self.headers.items()))
            time.sleep(served.delay.get(path, 0.0))
            document = served.documents.get(path)
            status = served.status.get(path, 200 if document else 404)
            if status != 200 or document is None:
                self._answer(status)
            elif (tag and tag == document.etag) or (since and since == document.last_modified):
                self._answer(304)
            else:
                self._answer(200, document)

        def _answer(self, status: int, document: Document | None = None) -> None:
            body = document.body if document else b""
            self.send_response(status)
            if document is not None:
                self.send_header("Content-Type", document.content_type)
                if document.etag:
                    self.send_header("ETag", document.etag)
                if document.last_modified:
                    self.send_header("Last-Modified", document.last_modified)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


@contextmanager
def serving() -> Iterator[Served]:
    served = Served()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
