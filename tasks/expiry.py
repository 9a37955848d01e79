"""``ingest.expire``: beat runs it every minute on the ``admin`` queue. It drops expired source
records and re-merges their refs, then purges the change feed's old tombstones; a run that
finds nothing due costs two index lookups."""

from datetime import timedelta
from typing import Any

from celery import shared_task

from catalog_ingest.aggregation.expiry import run_expiry
from workers import task_names
from workers.context import get_context


@shared_task(name=task_names.EXPIRE, ignore_result=True, acks_late=True)
def expire() -> dict[str, Any]:
    """Expire what is due now; returns the run's counts."""
    runtime = get_context().runtime
    window = timedelta(days=runtime.config.feed_tombstone_days)
    report = run_expiry(runtime.repository, runtime.engine.clock.now(), window)
    return report.as_dict()
