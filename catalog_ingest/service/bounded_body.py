"""Request bodies read with a size limit, and parsed as a JSON object: a bad body is a 4xx.

The limit is enforced while reading (a declared ``Content-Length`` above it is refused before
a byte is read, and a chunked body is cut off as soon as it passes the limit), so a client
cannot make the service buffer an unbounded body.
"""

from typing import Any

import orjson
from starlette.requests import Request

from catalog_ingest.service.envelope import ApiError


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"the body is larger than {limit} bytes (api.max_event_bytes)")


async def read_bounded(request: Request, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes; :class:`ApiError` 413 beyond."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object; :class:`ApiError` 400 otherwise.

    orjson rather than the standard library: it refuses nesting deeper than 1024 levels with
    an ordinary decode error, where ``json`` would overflow the interpreter's stack.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, f"the body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(value).__name__}")
    return value
