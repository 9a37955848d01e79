"""Fetching one entity document over HTTP, conditionally when its validators are known.

``If-None-Match`` / ``If-Modified-Since`` carry the ETag and Last-Modified of the copy held; a
304 means it is still current. Every other failure (timeout, connection error, a status other
than 200 and 304, a body over the size limit) is a :class:`DocumentFetchError`, an upstream
error: the refresh backs off and drops nothing. URLs are shown without their user info and
query string, where secrets live.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from catalog_ingest.contracts.errors import UpstreamError


class DocumentFetchError(UpstreamError):
    """The document could not be fetched."""


@dataclass(frozen=True, slots=True)
class Validators:
    """What identifies a fetched copy of a document to its server."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)

    def headers(self) -> dict[str, str]:
        conditions = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in conditions.items() if value}


@dataclass(frozen=True, slots=True)
class Fetched:
    """A 200 answer: the body, its media type and its validators (``body`` None: a 304)."""

    body: bytes | None
    content_type: str | None = None
    validators: Validators = Validators()


def shown(url: str) -> str:
    """The URL without user info and query string (secrets live there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def fetch_document(
    client: httpx.Client, url: str, validators: Validators, max_bytes: int
) -> Fetched:
    """GET ``url`` (conditionally when ``validators`` are known)."""
    try:
        with client.stream("GET", url, headers=validators.headers()) as response:
            if response.status_code == 304 and validators:
                return Fetched(None)
            if response.status_code != 200:
                raise DocumentFetchError(f"GET {shown(url)}: HTTP {response.status_code}")
            body = _read_bounded(response, url, max_bytes)
            found = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
            return Fetched(body, response.headers.get("Content-Type"), found)
    except httpx.TimeoutException:
        raise DocumentFetchError(f"GET {shown(url)}: timed out") from None
    except httpx.HTTPError as error:
        raise DocumentFetchError(f"GET {shown(url)}: {type(error).__name__}") from None


def _read_bounded(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise DocumentFetchError(
                f"GET {shown(url)}: larger than max_document_bytes ({max_bytes:,})"
            )
        chunks.append(chunk)
    return b"".join(chunks)
