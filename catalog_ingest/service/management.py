"""Backstage's incremental management routes, same paths and shapes, under
``/api/catalog/incremental`` (``@backstage/plugin-catalog-backend-module-incremental-ingestion``).

Semantics, as in Backstage:

- ``trigger``: the next action is due now (a paused provider resumes);
- ``start``: a new pass now (the running pass is canceled; a rest ends early);
- ``cancel``: the running pass stops at its next page and is closed as canceled; the provider
  then stays idle for 24 hours unless triggered or started (Backstage pauses it 24 hours);
- ``DELETE /providers/{name}``: reset (ingestion state purged, catalog kept, a fresh pass);
- ``DELETE .../marks``: finished ingestions and their marks removed, except the newest;
- ``POST /cleanup``: every provider's state purged, all paused until triggered.

Actions are applied the way the config's ``api.actions`` says: enqueued as the same admin
tasks the CLI sends (the answer carries ``taskId``), or applied at once (``detail``).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from catalog_ingest.app.live_status import add_live_figures
from catalog_ingest.app.status_view import status_rows
from catalog_ingest.contracts.states import OPEN_TICKET
from catalog_ingest.engine import admin_operations
from catalog_ingest.service.auth import guard, service_context
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ERROR_RESPONSES
from workers import task_names

router = APIRouter(prefix="/api/catalog/incremental", tags=["incremental"])

Context = Annotated[ServiceContext, Depends(service_context)]
ProviderName = Annotated[
    str, Path(min_length=1, max_length=63, description="A configured provider's name.")
]
READ = guard("read")
MANAGE = guard("manage")


class Health(BaseModel):
    healthy: bool
    duplicateIngestions: list[str] | None = None


class ProviderList(BaseModel):
    success: bool
    providers: list[str]


class CurrentAction(BaseModel):
    current_action: str
    next_action_at: datetime | None = None


class PassFigures(BaseModel):
    """One pass, as ``ingest status --json`` shows it."""

    ingestion_id: str
    status: str
    next_action: str
    next_action_at: datetime
    phase: str
    pages: int
    entities: int
    rejected: int
    duplicates: int
    fallbacks: int
    removed: int
    attempts: int
    last_error: str | None
    created_at: datetime
    ingestion_completed_at: datetime | None
    pending_pages: int | None = None
    rate_per_second: float | None = None
    """Entities per second marked over the last minute (current pass only)."""
    eta_seconds: float | None = None
    """Until the pass has listed as many entities as the previous one, at that rate."""
    next_action_in_seconds: float | None = None


class ProviderStatus(BaseModel):
    """Backstage's ``{success, status, last_error}`` plus this project's figures."""

    success: bool
    status: CurrentAction
    last_error: str | None = None
    current: PassFigures | None = None
    last_completed: PassFigures | None = None


class ActionResult(BaseModel):
    success: bool
    message: str
    detail: str | None = None
    """What the action changed (applied directly)."""
    taskId: str | None = None
    """The admin task's id (enqueued for the workers)."""


class MarkRecord(BaseModel):
    sequence: int
    cursor: Any
    created_at: datetime
    entity_count: int


class MarkList(BaseModel):
    success: bool
    records: list[MarkRecord]


class Deletions(BaseModel):
    success: bool
    message: str
    deletions: int


class CleanupResult(BaseModel):
    success: bool
    message: str
    providers: list[ActionResult] = []
    taskId: str | None = None


def health_router(open_: bool) -> APIRouter:
    """``GET /health``, open or behind ``read`` as the config says: the route is built with
    the app so its OpenAPI document tells clients whether it takes a token."""
    health_api = APIRouter(prefix=router.prefix, tags=["incremental"])

    @health_api.get(
        "/health",
        response_model=Health,
        response_model_exclude_none=True,
        dependencies=guard("read", open_),
        responses={} if open_ else ERROR_RESPONSES,
    )
    def health(context: Context) -> Health:
        """Healthy unless a provider has more than one open ingestion."""
        counts = Counter(
            ingestion.provider_name
            for ingestion in context.runtime.repository.list_ingestions()
            if ingestion.completion_ticket == OPEN_TICKET
        )
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            return Health(healthy=False, duplicateIngestions=duplicates)
        return Health(healthy=True)

    return health_api


@router.get("/providers", response_model=ProviderList, dependencies=READ, responses=ERROR_RESPONSES)
def providers(context: Context) -> ProviderList:
    return ProviderList(success=True, providers=sorted(context.runtime.engine.providers))


@router.get(
    "/providers/{name}",
    response_model=ProviderStatus,
    dependencies=READ,
    responses=ERROR_RESPONSES,
)
def provider_status(name: ProviderName, context: Context) -> ProviderStatus:
    runtime = context.runtime
    runtime.engine.binding(name)
    rows = add_live_figures(
        status_rows(runtime.repository, runtime.redactor, name),
        runtime.repository,
        runtime.engine.clock.now(),
    )
    row = rows[0] if rows else {}
    current, last = row.get("current"), row.get("last_completed")
    if current is None:
        return ProviderStatus(
            success=True,
            status=CurrentAction(current_action="rest complete, waiting to start"),
            last_completed=last,
        )
    return ProviderStatus(
        success=True,
        status=CurrentAction(
            current_action=current["status"], next_action_at=current["next_action_at"]
        ),
        last_error=current["last_error"],
        current=current,
        last_completed=last,
    )


def _act(
    context: ServiceContext, name: str, task: str, action: admin_operations.AdminAction, said: str
) -> ActionResult:
    runtime = context.runtime
    runtime.engine.binding(name)
    message = f"{name}: {said}"
    if context.sender is not None:
        return ActionResult(
            success=True, message=message, taskId=context.sender.send(task, (name,))
        )
    result = action(runtime.repository, name, runtime.engine.clock.now())
    return ActionResult(success=True, message=message, detail=result.message)


@dataclass(frozen=True, slots=True)
class ActionRoute:
    """One of Backstage's action routes: where it answers, what it runs, what it says."""

    method: str
    path: str
    task: str
    action: admin_operations.AdminAction
    said: str
    doc: str


ACTION_ROUTES = (
    ActionRoute(
        "POST", "/providers/{name}/trigger", task_names.TRIGGER, admin_operations.trigger,
        "Next action triggered.",
        "The provider's next action is due now (a paused provider resumes).",
    ),
    ActionRoute(
        "POST", "/providers/{name}/start", task_names.START, admin_operations.start,
        "Next cycle triggered.",
        "A new pass now: the running one is canceled, a rest ends early.",
    ),
    ActionRoute(
        "POST", "/providers/{name}/cancel", task_names.CANCEL, admin_operations.cancel,
        "Current ingestion canceled.",
        "The running pass stops at its next page; the provider idles 24 hours or until "
        "triggered.",
    ),
    ActionRoute(
        "DELETE", "/providers/{name}", task_names.RESET, admin_operations.reset,
        "Provider reset.",
        "Purge the provider's ingestion state (the catalog stays) and start a fresh pass.",
    ),
)  # fmt: skip


def _add_action_route(route: ActionRoute) -> None:
    def endpoint(name: ProviderName, context: Context) -> ActionResult:
        return _act(context, name, route.task, route.action, route.said)

    endpoint.__doc__ = route.doc
    router.add_api_route(
        route.path,
        endpoint,
        methods=[route.method],
        name=route.task.removeprefix("ingest."),
        response_model=ActionResult,
        dependencies=MANAGE,
        responses=ERROR_RESPONSES,
    )


for _route in ACTION_ROUTES:
    _add_action_route(_route)


@router.get(
    "/providers/{name}/marks",
    response_model=MarkList,
    dependencies=READ,
    responses=ERROR_RESPONSES,
)
def marks(name: ProviderName, context: Context) -> MarkList:
    """The committed pages of the current pass."""
    runtime = context.runtime
    runtime.engine.binding(name)
    rows = admin_operations.marks(runtime.repository, name)
    return MarkList(
        success=True,
        records=[
            MarkRecord(
                sequence=mark.sequence,
                cursor=mark.cursor,
                created_at=mark.created_at,
                entity_count=mark.entity_count,
            )
            for mark in rows
        ],
    )


@router.delete(
    "/providers/{name}/marks",
    response_model=Deletions,
    dependencies=MANAGE,
    responses=ERROR_RESPONSES,
)
def clear_marks(name: ProviderName, context: Context) -> Deletions:
    """Finished ingestions (and their marks) removed, except the newest completed one."""
    runtime = context.runtime
    runtime.engine.binding(name)
    deleted = runtime.repository.clear_finished(name)
    return Deletions(
        success=True, message=f"Expired marks for provider '{name}' removed.", deletions=deleted
    )


@router.post(
    "/cleanup", response_model=CleanupResult, dependencies=MANAGE, responses=ERROR_RESPONSES
)
def cleanup(context: Context) -> CleanupResult:
    """Purge every provider's ingestion state; all stay paused until triggered."""
    message = "All providers cleaned up and paused until triggered."
    if context.sender is not None:
        return CleanupResult(
            success=True, message=message, taskId=context.sender.send(task_names.CLEANUP)
        )
    runtime = context.runtime
    results = admin_operations.cleanup(
        runtime.repository, list(runtime.engine.providers), runtime.engine.clock.now()
    )
    return CleanupResult(
        success=True,
        message=message,
        providers=[
            ActionResult(success=True, message=f"{r.provider}: {r.message}") for r in results
        ],
    )
