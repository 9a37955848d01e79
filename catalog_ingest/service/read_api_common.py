"""What the read routes share: the context dependency, list parameters, limits, JSON answers."""

from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request, Response
from pydantic import StringConstraints

from catalog_ingest.service.auth import service_context
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ERROR_RESPONSES, ApiError

Context = Annotated[ServiceContext, Depends(service_context)]
NO_NUL = r"^[^\x00]*$"
_KEY = r"[^=,\x00]*[^=, \t\x00][^=,\x00]*"
_CONDITION = rf"{_KEY}(=[^,\x00]*)?"
FILTER = rf"^{_CONDITION}(,({_CONDITION})?)*$"
"""``key[=value]`` conditions, comma-separated (documented, so malformed ones are refused
before they reach the parser)."""
ORDER_FIELD = r"^[^,\x00]*[^, \t\x00][^,\x00]*(,(asc|desc))?$"
LEGACY_ORDER = r"^(asc|desc):[^\x00]*[^ \t\x00][^\x00]*$"


def texts(pattern: str = NO_NUL) -> Any:
    """A repeatable query parameter whose values match ``pattern``."""
    return Annotated[list[Annotated[str, StringConstraints(pattern=pattern)]] | None, Query()]


Texts = texts()
"""A repeatable query parameter (``fields``, ``facet``...): any text but NUL."""
Filters = texts(FILTER)
OrderFields = texts(ORDER_FIELD)
LegacyOrders = texts(LEGACY_ORDER)

NO_OFFSET = "Not supported (only 0): page with the cursor, never by offset."
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
"""Larger limits are clamped: the cursor still walks the whole listing."""


def refuse_nul(request: Request) -> None:
    """A router dependency: NUL characters in the path or a parameter are a 400 (PostgreSQL
    text cannot hold them, and no entity's does)."""
    if "\x00" in request.url.path or any(
        "\x00" in key or "\x00" in value for key, value in request.query_params.multi_items()
    ):
        raise ApiError(400, "the path and parameters cannot contain NUL characters")


def json_response(content: Any) -> Response:
    """``content`` as JSON, serialized by orjson (entities are plain JSON documents)."""
    return Response(orjson.dumps(content), media_type="application/json")


def documented(schema: Any) -> dict[int | str, dict[str, Any]]:
    """The answers a read route documents: ``schema`` (a model or a type) and the errors."""
    return {200: {"model": schema}, **ERROR_RESPONSES}
