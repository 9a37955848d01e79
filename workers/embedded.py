"""The embedded mode: one process, in-memory broker, in-process lock, the same tasks.

A Celery worker runs in a thread (solo pool) consuming kombu's ``memory://`` transport, and a
small beat loop in the calling thread sends ``ingest.tick`` for every due provider. Tasks travel
through a real broker and a real worker (never ``task_always_eager``); only the transports are
in-process. With a :class:`FastForwardClock`, waits are skipped instead of slept (the demo).
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import after_task_publish, task_postrun, task_revoked

from catalog_ingest.app.composition import Runtime
from catalog_ingest.engine.clock import FastForwardClock
from workers import context
from workers.celery_app import create_app
from workers.settings import WorkerSettings

BurstResult = dict[str, Any]
IDLE_TIMEOUT = 600.0


class _InFlight:
    """Counts tasks published but not yet finished, and collects burst results."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()
        self.results: list[BurstResult] = []

    def published(self, **_: Any) -> None:
        with self._changed:
            self._count += 1

    def finished(self, task: Any = None, retval: Any = None, **_: Any) -> None:
        with self._changed:
            if task is not None and task.name == "ingest.burst" and isinstance(retval, dict):
                self.results.append(retval)
            self._count -= 1
            self._changed.notify_all()

    def revoked(self, **_: Any) -> None:
        self.finished()

    def wait_idle(self, timeout: float = IDLE_TIMEOUT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._count <= 0, timeout):
                raise TimeoutError(f"embedded tasks still running after {timeout:g}s")

    def take_results(self) -> list[BurstResult]:
        with self._changed:
            results, self.results = self.results, []
            return results


class EmbeddedScheduler:
    """Beat and worker in one process over an in-memory broker."""

    def __init__(self, runtime: Runtime, app: Celery) -> None:
        self.runtime = runtime
        self.app = app
        self.in_flight = _InFlight()

    def _due(self) -> tuple[list[str], datetime | None]:
        engine = self.runtime.engine
        due: list[str] = []
        upcoming: list[datetime] = []
        for name in engine.providers:
            when = engine.next_due(name)
            if when is None:
                continue
            if when <= engine.clock.now():
                due.append(name)
            else:
                upcoming.append(when)
        return due, min(upcoming, default=None)

    def step(self) -> tuple[list[BurstResult], datetime | None]:
        """Tick every due provider, wait until all resulting tasks finished."""
        due, upcoming = self._due()
        for name in due:
            self.app.send_task("ingest.tick", args=(name,))
        if due:
            self.in_flight.wait_idle()
            due, upcoming = self._due()
        return self.in_flight.take_results(), (None if due else upcoming)

    def run(
        self,
        until: Callable[[BurstResult], bool] = lambda _result: False,
        on_result: Callable[[BurstResult], None] = lambda _result: None,
        idle_sleep: float = 1.0,
    ) -> None:
        """Tick providers until a burst result satisfies ``until`` (forever by default)."""
        clock = self.runtime.engine.clock
        while True:
            results, upcoming = self.step()
            for result in results:
                on_result(result)
                if until(result):
                    return
            if upcoming is None:
                continue
            if isinstance(clock, FastForwardClock):
                clock.skip_to(upcoming)
            else:
                time.sleep(min(idle_sleep, max(0.0, (upcoming - clock.now()).total_seconds())))


@contextmanager
def embedded(runtime: Runtime, loglevel: str = "WARNING") -> Iterator[EmbeddedScheduler]:
    """Start the in-process worker for ``runtime``; stop it on exit."""
    app = create_app(
        runtime.config,
        WorkerSettings(),
        broker_url="memory://localhost/",
        # The in-memory transport polls; the default (1 s) would dominate short demos.
        broker_transport_options={"polling_interval": 0.01},
    )
    context.install(context.WorkerContext(runtime, WorkerSettings()))
    scheduler = EmbeddedScheduler(runtime, app)
    after_task_publish.connect(scheduler.in_flight.published, weak=False)
    task_postrun.connect(scheduler.in_flight.finished, weak=False)
    task_revoked.connect(scheduler.in_flight.revoked, weak=False)
    try:
        with start_worker(app, pool="solo", loglevel=loglevel, perform_ping_check=False):
            yield scheduler
    finally:
        after_task_publish.disconnect(scheduler.in_flight.published)
        task_postrun.disconnect(scheduler.in_flight.finished)
        task_revoked.disconnect(scheduler.in_flight.revoked)
        context.install(None)
