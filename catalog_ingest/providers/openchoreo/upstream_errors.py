"""Errors of the OpenChoreo client; every message names the request, never the token."""

from catalog_ingest.contracts.errors import UpstreamError

__all__ = [
    "ContinueTokenExpiredError",
    "CursorRejectedError",
    "InternalServerError",
    "NotFoundError",
    "TransientUpstreamError",
    "UpstreamContractError",
    "UpstreamError",
]


class UpstreamContractError(UpstreamError):
    """A response broke the API contract (shape, types, pagination)."""


class ContinueTokenExpiredError(UpstreamError):
    """HTTP 410: the listing's continue token expired; the listing must restart."""


class NotFoundError(UpstreamError):
    """HTTP 404: the resource (or its parent) no longer exists."""


class TransientUpstreamError(UpstreamError):
    """429, 5xx or a network failure that persisted through every retry."""


class InternalServerError(UpstreamError):
    """HTTP 500 that was not retried (see :class:`CursorRejectedError`)."""


class CursorRejectedError(UpstreamError):
    """HTTP 500 answering a request that carried a cursor (namespace-era API).

    Today's server reports an expired continue token (Kubernetes compacts them after about five
    minutes) or an undecodable cursor as ``500 INTERNAL_ERROR``, not as a 410: the listing must
    restart from its beginning.
    """
