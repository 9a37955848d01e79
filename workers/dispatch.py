"""Deferred items become ``ingest.detail`` child tasks on the ``details`` queue."""

from collections.abc import Sequence

from celery import current_app

from catalog_ingest.repository import DeferredItem
from workers.limits import DetailLimits

DETAIL_TASK = "ingest.detail"


class CeleryDispatcher:
    """Sends one child task per item, through the app of the process (worker or embedded).

    The task's arguments name the provider and the item's labels (organization, project,
    component), so Flower shows what each child fetches.
    """

    def __init__(self, limits: DetailLimits) -> None:
        self._limits = limits

    def dispatch(
        self,
        provider: str,
        ingestion_id: str,
        mark_id: int,
        dispatch: int,
        items: Sequence[DeferredItem],
    ) -> None:
        app = current_app
        with app.producer_or_acquire() as producer:
            for item in items:
                app.send_task(
                    DETAIL_TASK,
                    args=(provider, ingestion_id, mark_id, dispatch, item.key),
                    kwargs=dict(item.labels),
                    soft_time_limit=self._limits.soft,
                    time_limit=self._limits.hard,
                    producer=producer,
                )
