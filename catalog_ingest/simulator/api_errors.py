"""API errors: the status, code and message of an ``APIResponse`` error body."""

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from catalog_ingest.contracts.errors import IngestError

ErrorDetail = dict[str, str]
"""``{"field", "message"}``: one entry of the namespace-era error body's ``details``."""


class ApiError(IngestError):
    """Raised anywhere in a request; answered as ``{"success": false, "error", "code"}`` in the
    organization era, translated by :mod:`.namespace_errors` in the namespace era."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        details: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = list(details or [])

    def response(self) -> Response:
        body = {"success": False, "error": self.message, "code": self.code}
        return json_response(body, self.status, self.headers)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def invalid_limit(raw: str) -> ApiError:
    return ApiError(400, "INVALID_LIMIT", f"limit must be an integer >= 1, got {raw!r}")


def invalid_token(reason: str) -> ApiError:
    return ApiError(400, "INVALID_CONTINUE_TOKEN", f"invalid continue token: {reason}")


def token_expired() -> ApiError:
    return ApiError(410, "CONTINUE_TOKEN_EXPIRED", "continue token expired")


def unauthorized() -> ApiError:
    return ApiError(401, "UNAUTHORIZED", "unauthorized")


def unavailable(message: str = "service unavailable") -> ApiError:
    return ApiError(503, "SERVICE_UNAVAILABLE", message)


def rate_limited(retry_after_seconds: int) -> ApiError:
    headers = {"Retry-After": str(retry_after_seconds)}
    return ApiError(429, "RATE_LIMITED", "too many requests", headers)
