"""Pushes over HTTP: another system writes entities into a ``push`` source, or deletes them.

``PUT /api/catalog/sources/{source}/entities`` with ``{"entities": [...]}`` upserts them (the
source's other records stay); ``DELETE /api/catalog/sources/{source}/entities?ref=...``
removes refs from the source's records (another source's record of a ref takes over). Each is
applied at once under the source's lock and a fresh fence, every entity validated (an invalid
one is rejected alone and counted), as ``ingest push`` does.

Authentication is per source: the bearer token must be the source's own ``settings.token``
(an ``api.tokens`` token grants nothing here), so a system can write only its own source.
"""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from catalog_ingest.app.push import MAX_PUSH_BYTES, push_source, push_summary
from catalog_ingest.app.source_providers import push_token
from catalog_ingest.engine.event_deltas import EventOutcome
from catalog_ingest.providers.sources.push_source import PUSH_TOPIC
from catalog_ingest.service.auth import bearer, service_context
from catalog_ingest.service.bounded_body import json_object, read_bounded
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ERROR_RESPONSES, ApiError, ErrorEnvelope
from workers.direct_events import deliver_now

router = APIRouter(prefix="/api/catalog/sources", tags=["push"])

Context = Annotated[ServiceContext, Depends(service_context)]
SourceName = Annotated[
    str, Path(min_length=1, max_length=63, description="A configured source of type push.")
]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    413: {"model": ErrorEnvelope, "description": "The body is larger than 16 MiB."},
    503: {"model": ErrorEnvelope, "description": "The source's lock stayed held."},
}
REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": '`{"entities": [Backstage entities]}`',
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["entities"],
                    "properties": {"entities": {"type": "array", "items": {"type": "object"}}},
                }
            }
        },
    }
}


class PushResult(BaseModel):
    source: str
    upserted: int
    """Entities written or confirmed unchanged."""
    removed: int
    rejected: int | None
    """Entities or refs refused by Backstage's rules."""


def authorized_source(source: SourceName, context: Context, credentials: Credentials) -> str:
    """The push source ``source`` if the bearer token is its own; 404 for no such push source,
    401 for a missing or wrong token."""
    push_source(context.runtime.engine, source)
    if context.insecure_local:
        return source
    expected = push_token(context.config, source)
    presented = credentials.credentials.encode() if credentials else b""
    if not expected or not hmac.compare_digest(presented, expected.encode()):
        raise ApiError.unauthenticated(f"pushes to {source} need the source's own bearer token")
    return source


Source = Annotated[str, Depends(authorized_source)]


def _apply(context: ServiceContext, source: str, payload: dict[str, Any]) -> EventOutcome:
    runtime = context.runtime
    return deliver_now(runtime.engine, runtime.lock, source, PUSH_TOPIC, payload)


@router.put(
    "/{source}/entities",
    response_model=PushResult,
    responses=RESPONSES,
    openapi_extra=REQUEST_BODY,
)
async def put_entities(source: Source, request: Request, context: Context) -> PushResult:
    """Upsert the given entities into the source's records."""
    body = json_object(await read_bounded(request, MAX_PUSH_BYTES))
    entities = body.get("entities")
    if set(body) != {"entities"} or not isinstance(entities, list):
        raise ApiError(400, 'the body must be {"entities": [...]}')
    outcome = await run_in_threadpool(_apply, context, source, {"entities": entities})
    return PushResult.model_validate(push_summary(outcome))


@router.delete("/{source}/entities", response_model=PushResult, responses=RESPONSES)
def delete_entities(
    source: Source,
    context: Context,
    ref: Annotated[list[str], Query(min_length=1, max_length=1000, description="kind:ns/name")],
) -> PushResult:
    """Remove the given refs from the source's records."""
    return PushResult.model_validate(push_summary(_apply(context, source, {"delete": ref})))
