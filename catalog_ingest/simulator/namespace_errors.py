"""Namespace-era error bodies: ``{error, code, details[]}`` with the spec's ``code`` values.

Errors are raised as :class:`ApiError` in either generation and translated here. What the
server does beyond its spec is kept: a cursor that is malformed, tampered with, for another
listing or expired (Kubernetes answers 410 to an expired continue token) surfaces as HTTP 500
``INTERNAL_ERROR``, never as a 400 or 410. The spec's ``ErrorResponse.code`` enum has no code
for 429 or 503 (a gateway's answers, here injected faults), so they carry ``INTERNAL_ERROR``;
clients go by the status and ``Retry-After``.
"""

from starlette.responses import Response

from catalog_ingest.simulator.api_errors import ApiError, ErrorDetail, json_response
from catalog_ingest.simulator.dataset import (
    ComponentNotFoundError,
    NotFoundError,
    OrganizationNotFoundError,
    ProjectNotFoundError,
)

CURSOR_CODES = {"INVALID_CONTINUE_TOKEN", "CONTINUE_TOKEN_EXPIRED"}
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "BAD_REQUEST",
}
MESSAGES = {401: "Authentication required", 500: "Internal server error"}
NOUNS: dict[type[NotFoundError], str] = {
    OrganizationNotFoundError: "Namespace",
    ProjectNotFoundError: "Project",
    ComponentNotFoundError: "Component",
}


def namespace_error_body(error: ApiError) -> tuple[int, dict[str, object]]:
    """The status and body answering ``error`` in the namespace era."""
    status, details = error.status, error.details
    if error.code in CURSOR_CODES:
        status = 500
        details = [{"field": "cursor", "message": error.message}, *details]
    code = CODES.get(status, "INTERNAL_ERROR")
    message = MESSAGES.get(status, error.message)
    return status, {"error": message, "code": code, "details": details}


def namespace_response(error: ApiError) -> Response:
    status, body = namespace_error_body(error)
    return json_response(body, status, error.headers)


def not_found(noun: str, name: str, field: str | None = None) -> ApiError:
    """404 ``NOT_FOUND`` worded like the server (``Project 'web' not found``)."""
    details: list[ErrorDetail] = []
    if field is not None:
        details.append({"field": field, "message": f"no {noun.lower()} named {name!r}"})
    return ApiError(404, "NOT_FOUND", f"{noun} '{name}' not found", details=details)


def namespace_not_found(error: NotFoundError) -> ApiError:
    """The namespace-era 404 of a missing namespace, project or component of the dataset."""
    return not_found(NOUNS.get(type(error), "Resource"), error.name)
