"""Backstage's error envelope, for every error the service answers.

``{"error": {"name", "message"}, "request": {"method", "url"}, "response": {"statusCode"}}``
(``@backstage/errors``' ``ErrorResponseBody``), so clients written for Backstage read ours.
"""

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as BrokerUnreachable
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError as DatabaseUnreachable
from starlette.exceptions import HTTPException

from catalog_ingest.contracts.errors import IngestError, UnknownProviderError, UserError

log = structlog.get_logger(__name__)

NAMES = {
    400: "InputError",
    401: "AuthenticationError",
    403: "NotAllowedError",
    404: "NotFoundError",
    405: "NotAllowedError",
    409: "ConflictError",
    413: "InputError",
    415: "InputError",
    503: "ServiceUnavailableError",
}


class ApiError(IngestError):
    """An error answered to the client as ``status`` in the envelope."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers

    @classmethod
    def unauthenticated(cls, message: str) -> "ApiError":
        return cls(401, message, {"WWW-Authenticate": "Bearer"})

    @classmethod
    def forbidden(cls, message: str) -> "ApiError":
        return cls(403, message)

    @classmethod
    def not_found(cls, message: str) -> "ApiError":
        return cls(404, message)


class ErrorBody(BaseModel):
    name: str
    message: str


class RequestBody(BaseModel):
    method: str
    url: str


class ResponseBody(BaseModel):
    statusCode: int


class ErrorEnvelope(BaseModel):
    """Every 4xx/5xx answer of the service."""

    error: ErrorBody
    request: RequestBody
    response: ResponseBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": NAMES[status]}
    for status in (400, 401, 403, 404)
}
"""The error answers every protected route documents in the OpenAPI document."""


def envelope(request: Request, status: int, message: str, name: str | None = None) -> JSONResponse:
    body = ErrorEnvelope(
        error=ErrorBody(name=name or NAMES.get(status, "Error"), message=message),
        request=RequestBody(method=request.method, url=str(request.url.path)),
        response=ResponseBody(statusCode=status),
    )
    return JSONResponse(body.model_dump(), status_code=status)


def _redact(request: Request, text: str) -> str:
    return str(request.app.state.service.runtime.redactor.redact(text))


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the envelope: a user's mistake is a 4xx, never a 500."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        response = envelope(request, error.status, error.message)
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(UnknownProviderError)
    async def unknown_provider(request: Request, error: UnknownProviderError) -> JSONResponse:
        return envelope(request, 404, _redact(request, str(error)))

    @app.exception_handler(UserError)
    async def user_error(request: Request, error: UserError) -> JSONResponse:
        return envelope(request, 400, _redact(request, str(error)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        return envelope(request, 400, f"invalid request: {problems}"[:1000])

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return envelope(request, error.status_code, str(error.detail))

    @app.exception_handler(DatabaseUnreachable)
    async def database_down(request: Request, error: DatabaseUnreachable) -> JSONResponse:
        log.error("database unreachable", error=_redact(request, str(error.orig)))
        return envelope(request, 503, "the database cannot be reached")

    @app.exception_handler(BrokerUnreachable)
    async def broker_down(request: Request, error: BrokerUnreachable) -> JSONResponse:
        log.error("broker unreachable", error=_redact(request, str(error)))
        return envelope(request, 503, "the broker cannot be reached: the action was not sent")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        message = _redact(request, f"{type(error).__name__}: {error}")
        log.error("request failed", method=request.method, path=request.url.path, error=message)
        return envelope(request, 500, "internal error (see the service's log)", "Error")
