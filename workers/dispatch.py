"""Deferred items become ``ingest.detail`` child tasks on the ``details`` queue.

Items go in small groups (``INGEST_DETAILS_PER_TASK``, default 10): one task per item would pay
a task's and two transactions' overhead per detail call, which on small machines costs more
than the call itself; a group's calls are made one after the other, each under a slot, so the
upstream still sees at most ``max_concurrent_requests`` of them at once.
"""

from collections.abc import Sequence

from celery import current_app

from catalog_ingest.contracts.storage import DeferredItem
from workers import task_names
from workers.limits import DetailLimits


def group_labels(items: Sequence[DeferredItem]) -> dict[str, str | list[str]]:
    """The labels of a group: shared values once, differing ones as a list (in order)."""
    labels: dict[str, str | list[str]] = {}
    for name in dict.fromkeys(name for item in items for name in item.labels):
        values = list(dict.fromkeys(item.labels.get(name, "") for item in items))
        labels[name] = values[0] if len(values) == 1 else values
    return labels


class CeleryDispatcher:
    """Sends the items as child tasks of ``per_task`` items, through the app of the process.

    The tasks' arguments name the provider and the items' labels (organization, project,
    components), so Flower shows what each child fetches.
    """

    def __init__(self, limits: DetailLimits, per_task: int) -> None:
        self._limits = limits
        self._per_task = per_task

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
            for start in range(0, len(items), self._per_task):
                group = items[start : start + self._per_task]
                app.send_task(
                    task_names.DETAIL,
                    args=(provider, ingestion_id, mark_id, dispatch, [i.key for i in group]),
                    kwargs=group_labels(group),
                    soft_time_limit=self._limits.soft,
                    time_limit=self._limits.hard,
                    producer=producer,
                )
