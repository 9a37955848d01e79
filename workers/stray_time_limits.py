"""A soft time limit signal that reaches a pool child between tasks is ignored, not fatal.

Celery's prefork pool implements soft time limits with a signal: when a job's soft limit
passes, the parent sends ``SIGUSR1`` to the child that accepted the job, and the child's
handler (billiard's ``soft_timeout_sighandler``) raises ``SoftTimeLimitExceeded`` wherever
the child is. The parent does not know whether the child is still running that job: it
signals every job that is still in the pool's cache when its timer fires. A job stays there
until the parent has read its result from the child's pipe, and the event loop that reads
results is the one that fires the timers. After a Redis restart the loop stops while the
consumer reconnects; a burst that ends meanwhile (its Redis calls fail) leaves its result
unread in the pipe, and when the loop runs again it fires the overdue soft timer before it
reads that result (kombu's ``Hub.create_loop`` fires timers, then polls). The child, idle
by then, gets ``SoftTimeLimitExceeded`` outside any task, billiard logs "Pool process
error" with a traceback and the child exits. The same race exists, narrower, whenever a
task ends just as its soft limit passes.

Whatever leaves the timer behind, a child knows which tasks it runs and since when: the
tasks between ``task_prerun`` and ``task_postrun`` (sent in a ``finally``, so a task that
raises is cleared too), each with its start and its soft limit. The guard delegates to
billiard's handler when a running task's soft limit is due (within a tolerance: the parent's
timer starts when the child accepts the job, a moment before ``task_prerun``), so a task over
its soft limit still gets ``SoftTimeLimitExceeded`` as before. Otherwise the signal is stray:
no task runs, or the running one is far from its limit (the leftover timer of a task that
ended before it started); the guard logs one warning with the pid and returns.

Installation: billiard's child calls Celery's initializer (which sends
``worker_process_init``) *before* it installs its own ``SIGUSR1`` handler, by the module
name ``billiard.pool.soft_timeout_sighandler``; a handler installed by the signal alone
would be replaced at once. So ``worker_process_init`` (sent in the child only) rebinds that
name, in the child's own copy of the module, to the guard, and billiard installs the guard
itself. ``task_prerun`` checks the installed handler too, in case a billiard version
installs its handler another way: the guard is then in place from the first task on.
"""

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import billiard.pool
import structlog
from celery.signals import task_postrun, task_prerun, worker_process_init

log = structlog.get_logger(__name__)

_UID = "catalog-ingest:stray-time-limits"

SoftTimeoutHandler = Callable[[int, FrameType | None], Any]

_SOFT_TIMEOUT_SIGNAL: int | None = getattr(signal, "SIGUSR1", None)
"""The signal billiard sends for a soft time limit (``None`` where there is no SIGUSR1)."""


@dataclass(frozen=True, slots=True)
class _Running:
    """A task this process runs: since when (monotonic seconds) and its soft limit, if any."""

    started: float
    soft_limit: float | None

    def due(self, now: float) -> bool:
        """Its soft limit may have passed (without a known limit: assume so, as billiard)."""
        if self.soft_limit is None:
            return True
        tolerance = max(1.0, 0.1 * self.soft_limit)
        return now - self.started >= self.soft_limit - tolerance


_running: dict[str, _Running] = {}
"""The tasks this process runs now, by id (one, or more when a task applies another)."""

_in_pool_child = False
"""Set in a prefork child only: elsewhere (the worker's main process, the embedded mode's
threads) SIGUSR1 is Celery's own (a traceback dump) and is left alone."""


class _Guard:
    """The child's soft time limit handler: billiard's while a task runs, a warning otherwise."""

    def __init__(self, delegate: SoftTimeoutHandler) -> None:
        self.delegate = delegate

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if any(task.due(now) for task in _running.values()):
            self.delegate(signum, frame)  # raises SoftTimeLimitExceeded in the task
            return
        reason = "a task runs, far from its soft limit" if _running else "no task is running"
        log.warning(
            "stray soft time limit signal ignored",
            reason=reason,
            pid=os.getpid(),
            signal=signal.Signals(signum).name,
        )


def _guard(delegate: Any) -> _Guard:
    return delegate if isinstance(delegate, _Guard) else _Guard(delegate)


def install_in_child(**_: Any) -> None:
    """``worker_process_init``: billiard installs the guard as its soft time limit handler."""
    global _in_pool_child  # noqa: PLW0603 - one flag per process, set once in the child
    _in_pool_child = True
    _running.clear()  # nothing inherited across the fork runs in this child
    billiard.pool.soft_timeout_sighandler = _guard(billiard.pool.soft_timeout_sighandler)


def soft_limit_of(task: Any) -> float | None:
    """The soft limit the pool applies to the task's current run: the message's, else the
    task's, else the worker's default (as ``celery.worker.request`` and billiard pick it)."""
    limits = getattr(task.request, "timelimit", None) or (None, None)
    soft = limits[1] if len(limits) > 1 else None
    soft = soft or getattr(task, "soft_time_limit", None) or task.app.conf.task_soft_time_limit
    return float(soft) if soft else None


def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """``task_prerun``: a task runs; make sure the guard is the installed handler."""
    if task_id is not None:
        soft = soft_limit_of(task) if task is not None else None
        _running[task_id] = _Running(time.monotonic(), soft)
    if not _in_pool_child or _SOFT_TIMEOUT_SIGNAL is None:
        return
    installed = signal.getsignal(_SOFT_TIMEOUT_SIGNAL)
    if callable(installed) and not isinstance(installed, _Guard):
        signal.signal(_SOFT_TIMEOUT_SIGNAL, _Guard(installed))


def task_finished(task_id: str | None = None, **_: Any) -> None:
    """``task_postrun``: the task is over, a soft time limit signal from now on is stray."""
    if task_id is not None:
        _running.pop(task_id, None)


def connect() -> None:
    """Connect the receivers (idempotent)."""
    worker_process_init.connect(install_in_child, weak=False, dispatch_uid=f"{_UID}:install")
    task_prerun.connect(task_started, weak=False, dispatch_uid=f"{_UID}:started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid=f"{_UID}:finished")
