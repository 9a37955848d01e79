"""The embedded mode: one process, in-memory broker, in-process lock, the same tasks.

A Celery worker runs in a thread (solo pool) consuming kombu's ``memory://`` transport, and a
small beat loop in the calling thread sends ``ingest.tick`` for every due provider (and
``ingest.expire`` once a minute of its clock). Tasks travel through a real broker and a real
worker (never ``task_always_eager``); only the transports are in-process. With a
:class:`FastForwardClock`, waits are skipped instead of slept (the demo).

The worker is Celery's own :class:`~celery.worker.WorkController`, not the testing helper
``celery.contrib.testing`` (production code must not depend on a test package): see
:func:`_worker_thread` for what it takes to start and stop it.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery.exceptions import WorkerShutdown
from celery.signals import after_task_publish, task_postrun, task_revoked

from beat_schedule import EXPIRY_SECONDS
from catalog_ingest.app.composition import Runtime
from catalog_ingest.engine.clock import FastForwardClock
from workers import context, task_names
from workers.celery_app import create_app
from workers.worker_settings import WorkerSettings

BurstResult = dict[str, Any]
IDLE_TIMEOUT = 600.0
START_TIMEOUT = 30.0
"""Seconds the worker may take to consume (it takes tens of milliseconds)."""
STOP_TIMEOUT = 10.0
"""Seconds to wait on exit for the task in progress (Ctrl-C mid-burst) to end."""
STOP_COMMAND = "catalog_ingest.embedded_stop"

logger = logging.getLogger(__name__)


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
            if task is not None and task.name == task_names.BURST and isinstance(retval, dict):
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
        self.next_expiry: datetime | None = None

    def _expire_when_due(self) -> None:
        """Send ``ingest.expire`` once a minute (of the engine's clock), as beat does."""
        now = self.runtime.engine.clock.now()
        if self.next_expiry is None or now >= self.next_expiry:
            self.app.send_task(task_names.EXPIRE)
            self.next_expiry = now + timedelta(seconds=EXPIRY_SECONDS)

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
        """Tick every due provider (and expire records once a minute), wait until all
        resulting tasks finished."""
        self._expire_when_due()
        due, upcoming = self._due()
        for name in due:
            self.app.send_task(task_names.TICK, args=(name,))
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


def _stop(_state: Any, **_: Any) -> None:
    """Remote-control command: a warm shutdown raised in the worker's own thread.

    Celery's ``shutdown`` command does the same but logs a warning (a stray line in the demo).
    """
    raise WorkerShutdown(0)


@contextmanager
def _worker_thread(app: Celery, loglevel: str) -> Iterator[Any]:
    """A solo-pool worker consuming in a daemon thread: ready on entry, stopped on exit.

    - The app is finalized and made current and default: tasks are ``shared_task`` proxies,
      resolved in the worker thread through the default app (what ``celery worker`` does).
    - Logging is left alone: the command line configured it for the whole process (level,
      format, redaction); ``app.log.setup`` would configure the root logger a second time.
    - Entry returns once the consumer is consuming (``ready_callback``, from which the
      ``celery worker`` program sends ``worker_ready``): no ping task, no sleep.
    - Exit sends the worker a remote-control command through the broker; the worker raises
      ``WorkerShutdown`` in its thread, as on SIGTERM. The testing helper's stop flag
      (``celery.worker.state``) is only read between the loop's drains of this transport,
      which wait up to 2 s each: exit took 2 to 4 s. ``worker.stop()`` from this thread
      would tear the consumer down under the loop still draining it.
    - The thread is a daemon: a task still running after ``STOP_TIMEOUT`` (Ctrl-C mid-burst)
      does not keep the process alive.
    """
    from celery.worker.control import control_command  # noqa: PLC0415 - embedded mode only

    control_command(name=STOP_COMMAND)(_stop)
    app.finalize()
    app.set_current()
    app.set_default()
    settled, exited = threading.Event(), threading.Event()
    worker = app.WorkController(
        pool_cls="solo",
        concurrency=1,
        loglevel=loglevel,
        ready_callback=lambda _consumer: settled.set(),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )

    def run() -> None:
        try:
            worker.start()
        finally:
            exited.set()
            settled.set()

    thread = threading.Thread(target=run, name="embedded-celery-worker", daemon=True)
    thread.start()
    try:
        if not settled.wait(START_TIMEOUT) or exited.is_set():
            raise RuntimeError("the embedded Celery worker did not start (see the log)")
        yield worker
    finally:
        if not exited.is_set():
            app.control.broadcast(STOP_COMMAND, destination=[worker.hostname])
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            logger.warning("embedded worker still running a task after %gs; exiting", STOP_TIMEOUT)


@contextmanager
def embedded(runtime: Runtime, loglevel: str = "WARNING") -> Iterator[EmbeddedScheduler]:
    """Start the in-process worker for ``runtime``; stop it on exit.

    ``loglevel`` is the worker's; log output is what the caller configured for the process.
    """
    app = create_app(
        runtime.config,
        WorkerSettings(),
        broker_url="memory://localhost/",
        # The in-memory transport polls; the default (1 s) would dominate short demos.
        broker_transport_options={"polling_interval": 0.01},
        worker_enable_remote_control=True,  # the worker is stopped by a control command
    )
    context.install(context.WorkerContext(runtime, WorkerSettings()))
    scheduler = EmbeddedScheduler(runtime, app)
    after_task_publish.connect(scheduler.in_flight.published, weak=False)
    task_postrun.connect(scheduler.in_flight.finished, weak=False)
    task_revoked.connect(scheduler.in_flight.revoked, weak=False)
    try:
        with _worker_thread(app, loglevel):
            yield scheduler
    finally:
        after_task_publish.disconnect(scheduler.in_flight.published)
        task_postrun.disconnect(scheduler.in_flight.finished)
        task_revoked.disconnect(scheduler.in_flight.revoked)
        context.install(None)
