"""Bearer tokens with scopes: 401 without a valid token, 403 without the route's scope.

Tokens are compared in constant time against every configured token (no early exit reveals
which one came close). Only a token's *name* is ever logged or returned.
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from catalog_ingest.app.config.api_section import SCOPES, Scope
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ApiError

bearer = HTTPBearer(auto_error=False, description="A token of the config's `api.tokens`.")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who called: a configured token's name and scopes."""

    name: str
    scopes: frozenset[str]


ANONYMOUS_LOCAL = Principal("insecure-local", frozenset(SCOPES))


def service_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.service
    return context


def authenticate(context: ServiceContext, presented: str | None) -> Principal:
    """The principal of ``presented``; :class:`ApiError` 401 when it matches no token."""
    if context.insecure_local:
        return ANONYMOUS_LOCAL
    if not presented:
        raise ApiError.unauthenticated("missing bearer token")
    given = presented.encode()
    found: Principal | None = None
    for token in context.config.api.active_tokens():
        if hmac.compare_digest(given, token.token.get_secret_value().encode()):
            found = Principal(token.name, frozenset(token.scopes))
    if found is None:
        raise ApiError.unauthenticated("invalid bearer token")
    return found


def require(scope: Scope) -> Callable[..., Principal]:
    """A dependency: the caller's principal, which must hold ``scope``."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> Principal:
        principal = authenticate(
            service_context(request), credentials.credentials if credentials else None
        )
        if scope not in principal.scopes:
            raise ApiError.forbidden(f"token {principal.name!r} lacks the {scope!r} scope")
        request.state.principal = principal.name
        return principal

    return dependency


def guard(scope: Scope, open_: bool = False) -> list[Any]:
    """A route's ``dependencies``: none when the config leaves it open (health, metrics),
    else the ``scope`` check. Chosen when the app is built, so the OpenAPI document says
    whether the route takes a token."""
    return [] if open_ else [Depends(require(scope))]
