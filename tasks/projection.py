"""``ingest.project``: beat runs it every few seconds on the ``admin`` queue. It applies the
change feed to the read API's projection (``models.search_projection``) for up to
:data:`BUDGET_SECONDS`; a run with nothing new costs two row reads. Readers of the read API
also catch up before answering: both take the projection's lock, so one projects at a time."""

from typing import Any

from celery import shared_task

from models.search_projection import catch_up, lag
from workers import task_names
from workers.context import get_context

BUDGET_SECONDS = 20.0
"""Below the beat interval's multiple a worker can spare; the next run carries on."""


@shared_task(name=task_names.PROJECT, ignore_result=True)
def project() -> dict[str, Any]:
    """Project what the feed holds beyond the projection; returns the counts."""
    database = get_context().runtime.database
    applied = catch_up(database, BUDGET_SECONDS)
    return {"applied": applied, "behind": lag(database)}
