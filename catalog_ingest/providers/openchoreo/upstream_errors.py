"""Errors of the OpenChoreo client; every message names the request, never the token."""

from catalog_ingest.contracts.errors import UpstreamError

__all__ = [
    "ContinueTokenExpiredError",
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
