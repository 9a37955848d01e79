"""A soft time limit signal reaching an idle pool child is ignored.

Real prefork workers and Redis: the signal is sent to a child by pid, as billiard's parent does
when a leftover timer of a finished task fires (``workers/stray_time_limits.py``). That a
running task still gets its soft limit is checked in ``test_burst_messages.py``.
"""

import os
import signal
import time
from pathlib import Path

from sqlalchemy import Engine

from tests.support.celery_deployment import Deployment, WorkerProcess, deployment, wait_for
from workers import task_names

PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    "options": {"burst_length": 4, "burst_interval": 5},
    "settings": {"entities": 200, "page_size": 100, "page_delay_ms": 10, "seed": 5},
}
STRAY = "stray soft time limit signal ignored"


def pool_children(pid: int) -> list[int]:
    """The pids of a process's children (the worker's pool processes), from /proc."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in {"Z", "X"}


def full_log(worker: WorkerProcess) -> str:
    return worker.log_path.read_text(errors="replace")


def run_upkeep(deployed: Deployment, worker: WorkerProcess) -> None:
    """Send a short task (the catalog's expiry upkeep) and wait until the worker ran it."""
    task_id = deployed.send(task_names.EXPIRE)
    succeeded = f"{task_names.EXPIRE}[{task_id}] succeeded"
    wait_for(lambda: succeeded in full_log(worker), 60, f"{succeeded!r}:\n{worker.log()}")


def test_a_soft_time_limit_signal_to_an_idle_pool_child_is_logged_and_the_child_lives_on(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [PROVIDER]) as deployed:
        worker = deployed.start_worker("w1", concurrency=1)
        run_upkeep(deployed, worker)  # the child has run a task and is idle again
        [child] = wait_for(lambda: pool_children(worker.process.pid), 30, "the pool child")

        os.kill(child, signal.SIGUSR1)  # what the leftover timer of a finished task sends

        wait_for(
            lambda: STRAY in full_log(worker) or not alive(child),
            10,
            f"the stray signal warning or the child's exit:\n{worker.log()}",
        )
        time.sleep(1)  # a child killed by the signal would be gone (and replaced) by now
        assert alive(child), f"the pool child {child} died:\n{worker.log()}"
        assert pool_children(worker.process.pid) == [child]
        warning = [line for line in full_log(worker).splitlines() if STRAY in line]
        assert len(warning) == 1 and f"pid={child}" in warning[0], warning
        log = full_log(worker)
        assert "SoftTimeLimitExceeded" not in log and "Traceback" not in log, log[-4000:]

        run_upkeep(deployed, worker)  # and the same child still runs tasks
        assert pool_children(worker.process.pid) == [child]


def test_a_stray_signal_while_a_task_is_far_from_its_soft_limit_does_not_interrupt_it(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    """The leftover timer of a task that ended before this one started fires early in this
    one's run: ignored; the task's own soft limit still ends it when due."""
    hanging = {  # a page takes 10 s; with a 1 s margin the soft limit is 4 + 1 = 5 s
        **PROVIDER,
        "options": {"burst_length": 4, "burst_interval": 5},
        "settings": {"entities": 200, "page_size": 100, "page_delay_ms": 10000},
    }
    with deployment(tmp_path, database, database_url, redis_url, [hanging]) as deployed:
        worker = deployed.start_worker("w1", concurrency=1, INGEST_TIME_LIMIT_MARGIN="1")
        [child] = wait_for(lambda: pool_children(worker.process.pid), 30, "the pool child")
        deployed.send(task_names.BURST, "synth")
        wait_for(lambda: deployed.burst_rows("synth"), 30, f"the burst to start:\n{worker.log()}")
        time.sleep(0.3)  # inside its first page, some 4.5 s before its soft limit

        os.kill(child, signal.SIGUSR1)
        signalled = time.monotonic()

        wait_for(lambda: STRAY in full_log(worker), 10, f"the stray warning:\n{worker.log()}")
        [warning] = [line for line in full_log(worker).splitlines() if STRAY in line]
        assert "far from its soft limit" in warning and f"pid={child}" in warning, warning

        row = wait_for(
            lambda: deployed.backing_off("synth"),
            30,
            f"the burst's own soft limit:\n{worker.log()}",
        )
        assert "SoftTimeLimitExceeded" in row.last_error
        assert time.monotonic() - signalled > 3  # its own limit at 5 s, not the stray signal
        assert alive(child)
