"""Event ingress: ``POST /api/events/http/{topic}``, the path shape of Backstage's HTTP event
ingress (``@backstage/plugin-events-backend``), with the ``events`` scope.

The body (at most ``api.max_event_bytes``) must be a JSON object: it is the event's payload,
as the upstream's forwarder posts it (OpenChoreo: ``{kind, name, namespace, action}`` on the
topic ``openchoreo``). Every provider subscribed to the topic gets it:

- with a broker (``sender``): one ``ingest.event`` task per provider, the task the CLI's
  ``ingest event`` sends; the answer is 202 with the task ids (the workers wait for the
  provider's lock and retry, see README "Events");
- without one (SQLite, actions applied directly): applied at once, under each provider's lock
  as ``ingest event --direct`` does; the answer is 200 with what each delivery did.

A topic no provider takes is a 404; a body that is too large is a 413, one that is not a JSON
object a 400, never a 500.
"""

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from catalog_ingest.contracts.errors import StepStoppedError, UpstreamError, UserError
from catalog_ingest.contracts.locking import ProviderBusyError
from catalog_ingest.engine.event_deltas import check_event, subscribers
from catalog_ingest.providers.sources.push_source import PUSH_TOPIC
from catalog_ingest.service.auth import Principal, require, service_context
from catalog_ingest.service.bounded_body import json_object, read_bounded
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ERROR_RESPONSES, ApiError, ErrorEnvelope
from workers import task_names
from workers.direct_events import deliver_now

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/events", tags=["events"])

Context = Annotated[ServiceContext, Depends(service_context)]
Caller = Annotated[Principal, Depends(require("events"))]
Topic = Annotated[
    str, Path(min_length=1, max_length=255, description="The event's topic, e.g. openchoreo.")
]

RETRYABLE = (ProviderBusyError, UpstreamError, StepStoppedError, RedisError)
"""Nothing was written and a later delivery can succeed (as the ``ingest.event`` task sees;
and the Redis lock unreachable)."""

REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The event's payload: a JSON object.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class EventTask(BaseModel):
    provider: str
    taskId: str


class EventDelivery(BaseModel):
    """One provider's delivery, applied at once (the summary ``ingest event --direct`` prints)."""

    provider: str
    topic: str
    status: str
    """``applied``, ``ignored``, ``rejected`` (the provider refused the payload) or ``failed``
    (the lock stayed held, upstream failed: deliver it again later)."""
    added: int = 0
    removed: int = 0
    ignored: bool = False
    rejected: int | None = None
    note: str | None = None
    error: str | None = None


class EventAccepted(BaseModel):
    accepted: bool
    topic: str
    tasks: list[EventTask] | None = None
    """The ``ingest.event`` task sent to each subscribed provider (202)."""
    outcomes: list[EventDelivery] | None = None
    """What each subscribed provider did with it, applied at once (200)."""


RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    200: {"model": EventAccepted, "description": "Applied at once (no broker): each outcome."},
    413: {"model": ErrorEnvelope, "description": "The body is larger than api.max_event_bytes."},
    503: {"model": ErrorEnvelope, "description": "The broker (or every provider) was unavailable."},
}


@router.post(
    "/http/{topic}",
    status_code=202,
    response_model=EventAccepted,
    response_model_exclude_none=True,
    responses=RESPONSES,
    openapi_extra=REQUEST_BODY,
)
async def http_event(
    topic: Topic, request: Request, response: Response, context: Context, caller: Caller
) -> EventAccepted:
    """Deliver an event to every provider subscribed to ``topic``."""
    if topic == PUSH_TOPIC:  # a push needs its source's own token: not an `events` token's
        raise ApiError.not_found(
            "pushes go to PUT /api/catalog/sources/{source}/entities with the source's token"
        )
    providers = subscribers(context.runtime.engine.providers.values(), topic)
    if not providers:
        raise ApiError.not_found(f"no provider takes events on topic {topic!r}")
    payload = json_object(await read_bounded(request, context.config.api.max_event_bytes))
    try:
        check_event(topic, payload)
    except UserError as error:
        raise ApiError(400, str(error)) from None
    log.info("event received", topic=topic, providers=providers, caller=caller.name)
    if context.sender is None:
        response.status_code = 200
        outcomes = await run_in_threadpool(_apply_now, context, providers, topic, payload)
        return EventAccepted(accepted=True, topic=topic, outcomes=outcomes)
    tasks = await run_in_threadpool(_enqueue, context, providers, topic, payload)
    return EventAccepted(accepted=True, topic=topic, tasks=tasks)


def _enqueue(
    context: ServiceContext, providers: list[str], topic: str, payload: dict[str, Any]
) -> list[EventTask]:
    """One ``ingest.event`` per provider; an unreachable broker is the envelope's 503."""
    sender = context.sender
    assert sender is not None
    return [
        EventTask(provider=name, taskId=sender.send(task_names.EVENT, (name, topic, payload)))
        for name in providers
    ]


def _apply_now(
    context: ServiceContext, providers: list[str], topic: str, payload: dict[str, Any]
) -> list[EventDelivery]:
    """Apply the event to each provider in turn; a 4xx/503 when none of them could take it."""
    outcomes = [_deliver(context, name, topic, payload) for name in providers]
    if any(outcome.status in ("applied", "ignored") for outcome in outcomes):
        return outcomes
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    first = (failed or outcomes)[0]
    raise ApiError(503 if failed else 400, f"{first.provider}: {first.error}")


def _deliver(
    context: ServiceContext, provider: str, topic: str, payload: dict[str, Any]
) -> EventDelivery:
    runtime = context.runtime
    try:
        outcome = deliver_now(runtime.engine, runtime.lock, provider, topic, payload)
    except UserError as error:
        return _failure(context, provider, topic, "rejected", error)
    except RETRYABLE as error:
        return _failure(context, provider, topic, "failed", error)
    return EventDelivery.model_validate(outcome.summary())


def _failure(
    context: ServiceContext, provider: str, topic: str, status: str, error: Exception
) -> EventDelivery:
    message = context.runtime.redactor.redact(str(error))
    log.warning("event not applied", provider=provider, topic=topic, reason=message)
    return EventDelivery(provider=provider, topic=topic, status=status, error=message)
