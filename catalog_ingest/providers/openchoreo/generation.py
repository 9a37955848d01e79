"""Which OpenChoreo API generation a server speaks, and whether its listings page.

- ``namespaces``: today's API (``/namespaces/...``, ``limit`` / ``cursor`` paging).
- ``orgs``: the organization-era contract (``/orgs/...``, ``limit`` / ``continue`` paging), which
  only ever existed on unmerged pull requests; kept for installations built on it.

With ``apiGeneration: auto`` the provider asks once at the start of each pass
(:func:`detect_generation`) and keeps the answer in its cursor for the rest of the pass.
"""

from typing import Any, Literal

from catalog_ingest.contracts.provider import JSONValue
from catalog_ingest.providers.openchoreo.client import OpenChoreoClient
from catalog_ingest.providers.openchoreo.namespace_client import NamespaceClient
from catalog_ingest.providers.openchoreo.upstream_errors import (
    NotFoundError,
    UpstreamContractError,
)

Generation = Literal["namespaces", "orgs"]
GENERATION_KEY = "g"
"""The key of a namespace-era cursor naming its generation (organization-era ones have none)."""


class PaginationUnsupportedError(UpstreamContractError):
    """The API does not page its listings with ``limit`` / ``continue``."""


class GenerationUnknownError(UpstreamContractError):
    """The server answers neither generation's listing."""


def detect_generation(client: OpenChoreoClient) -> Generation:
    """``GET /namespaces?limit=1``: 200 means today's API; 404 asks ``GET /orgs?limit=1``,
    whose 200 (with cursor pagination) means the organization era. Anything else (401, 5xx
    after retries, 404 twice) is an error that says what was tried."""
    try:
        NamespaceClient(client).namespaces(limit=1)
        return "namespaces"
    except NotFoundError:
        pass
    try:
        body = client.raw_list("/orgs", 1)
    except NotFoundError:
        raise GenerationUnknownError(
            "GET /namespaces?limit=1 and GET /orgs?limit=1 both answered HTTP 404: this is not "
            "an OpenChoreo API (the base URL must end with /api/v1)"
        ) from None
    check_org_pagination(body)
    return "orgs"


def cursor_generation(cursor: JSONValue) -> Generation:
    """The generation a stored cursor was written by."""
    is_namespaces = isinstance(cursor, dict) and cursor.get(GENERATION_KEY) == "namespaces"
    return "namespaces" if is_namespaces else "orgs"


def check_pagination(client: OpenChoreoClient) -> None:
    """Fail clearly when the organization-era API does not page with ``limit`` /
    ``continue``."""
    check_org_pagination(client.raw_list("/orgs", 1))


def check_org_pagination(body: Any) -> None:
    """``body`` (of ``GET /orgs?limit=1``) must carry ``hasMore`` and, if true, ``continue``."""
    data = body.get("data") if isinstance(body, dict) else None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    items = data.get("items") if isinstance(data, dict) else None
    pages = (
        isinstance(metadata, dict)
        and isinstance(metadata.get("hasMore"), bool)
        and isinstance(items, list)
        and len(items) <= 1
        and (not metadata["hasMore"] or bool(metadata.get("continue")))
    )
    if not pages:
        raise PaginationUnsupportedError(
            "GET /orgs?limit=1: the API does not support cursor pagination (expected "
            "data.metadata.hasMore and data.metadata.continue, at most 1 item); this provider "
            "needs an OpenChoreo API with limit/continue paging"
        )
