"""``ingest run --config FILE``: one worker with embedded beat is the whole deployment.

The README offers it to small deployments as "a Celery worker with embedded beat". The test
starts no other worker and sends no task: beat's ticks alone must carry a pass to its end. The
command gets its configuration from ``--config`` only (no ``INGEST_CONFIG``), runs against real
Redis and PostgreSQL, and must stop cleanly on SIGTERM, as a service manager stops it.
"""

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from catalog_ingest.providers.synthetic import SyntheticSource
from tests.support.celery_deployment import Deployment, deployment, wait_for
from tests.support.operator_commands import command_env, ingest_command

PROVIDER = {
    "name": "synth",
    "type": "synthetic",
    "options": {"burst_length": 1, "burst_interval": 5, "rest_length": 1},
    "settings": {"entities": 300, "page_size": 50, "page_delay_ms": 400, "seed": 11},
}
"""Six pages of 400 ms: a 1 s burst commits three, so the pass takes two bursts, each one
enqueued by a tick of beat's (every 5 s)."""
BEAT_SENT_A_TICK = "Scheduler: Sending due task tick synth (ingest.tick)"


def start_ingest_run(deployed: Deployment, log_path: Path) -> subprocess.Popen[bytes]:
    """``ingest run --concurrency 2 --config FILE`` in its own process group.

    ``TMPDIR`` points to the test's directory: beat keeps its schedule file under the temporary
    directory, and a test must not share one with anything else on the machine.
    """
    with log_path.open("wb") as log:
        return subprocess.Popen(
            ingest_command(deployed, "run", "--concurrency", "2"),
            env=command_env(deployed, TMPDIR=str(log_path.parent)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def live_members(group: int) -> list[int]:
    """Process ids of the process group ``group`` still running (exited zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            state, _ppid, pgrp, *_ = stat.read_text().rsplit(")", 1)[1].split()
            if int(pgrp) == group and state != "Z":
                members.append(int(stat.parent.name))
    return members


def test_ingest_run_alone_completes_a_pass_on_beats_ticks_and_stops_cleanly_on_sigterm(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [PROVIDER]) as deployed:
        log_path = tmp_path / "ingest-run.log"
        process = start_ingest_run(deployed, log_path)

        def resting_while_running() -> Any:
            if process.poll() is not None:
                raise AssertionError(
                    f"ingest run exited {process.returncode}:\n{log_path.read_text()}"
                )
            return deployed.resting("synth")

        try:
            done = wait_for(resting_while_running, 60, "beat's ticks to complete a pass")
            source = SyntheticSource(size=300, seed=11)
            assert deployed.catalog_refs() == {source.ref_of(i) for i in range(300)}
            assert deployed.sequences(done.id) == [1, 2, 3, 4, 5, 6]
            assert len(deployed.burst_rows("synth")) >= 2, "one burst cannot hold six pages"
            log = log_path.read_text(errors="replace")
            assert log.count(BEAT_SENT_A_TICK) >= 2, log
            assert log.count("'action': 'enqueued burst'") >= 2, log
            for queue in ("admin", "details", "ingest"):
                assert f".> {queue} " in log, f"ingest run does not consume the {queue} queue"

            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0, log_path.read_text(errors="replace")
            wait_for(
                lambda: not live_members(process.pid),
                15,
                f"ingest run's pool and beat processes to exit: {live_members(process.pid)}",
            )
            log = log_path.read_text(errors="replace")
            assert "beat: Shutting down" in log
            assert "Traceback" not in log, log
        finally:
            if process.poll() is None or live_members(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
