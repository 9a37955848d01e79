"""The Celery processes of ``bench/chaos.py``, laid out as ``docker-compose.yml`` lays them out.

Two ingest workers (``--queues=ingest,admin``, prefork), one details worker (``--queues=details
--pool=threads``) and beat, each a ``celery --app=workers`` subprocess in its own process group
(so kill -9, SIGSTOP and SIGCONT reach its pool children too), configured only through
``INGEST_CONFIG``. Logs are appended across restarts, so a log keeps a worker's whole life.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0


@dataclass
class CeleryProcess:
    """One ``celery --app=workers ...`` process, restartable under the same name and log."""

    name: str
    arguments: list[str]
    env: dict[str, str]
    log_path: Path
    ready_marker: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log_offset: int = 0

    def start(self, wait: bool = True) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [sys.executable, "-m", "celery", "--app=workers", *self.arguments]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.starts += 1
        if wait:
            self.wait_ready()

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while self.ready_marker not in self.log_since_start():
            if not self.alive() or time.monotonic() > deadline:
                tail = self.log_since_start()[-3000:]
                raise RuntimeError(f"{self.name} did not start:\n{tail}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal(self, signum: int) -> None:
        if self.process is not None and self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """kill -9 the process and its pool children, as a crash (or an OOM kill) would."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), then kill -9 if it takes too long."""
        if self.process is None or not self.alive():
            return
        self.resume()
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` (a worker or one of its pool children) is in this process group."""
        if self.process is None or not self.alive():
            return False
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False


@dataclass
class Cluster:
    """The deployment's Celery processes, sharing one config file."""

    root: Path
    config_path: Path
    detail_threads: int = 8
    processes: dict[str, CeleryProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {**os.environ, "INGEST_CONFIG": str(self.config_path)}
        for key in ("DATABASE_URL", "REDIS_URL", "INGEST_LOG_LEVEL", "INGEST_BROKER_URL"):
            env.pop(key, None)
        common = ["--without-gossip", "--without-mingle", "--loglevel=INFO"]
        for name in ("ingest-a", "ingest-b"):
            self._add(name, env, ["worker", "--queues=ingest,admin", "--concurrency=1",
                                  f"--hostname={name}@%h", *common])  # fmt: skip
        threads = f"--concurrency={self.detail_threads}"
        details = ["worker", "--queues=details", "--pool=threads", threads,
                   "--hostname=details@%h", *common]  # fmt: skip
        self._add("details", env, details)
        schedule = self.root / "celerybeat-schedule"
        beat = ["beat", f"--schedule={schedule}", "--loglevel=INFO"]
        self.processes["beat"] = CeleryProcess(
            "beat", beat, env, self.root / "beat.log", "beat: Starting"
        )

    def _add(self, name: str, env: dict[str, str], arguments: list[str]) -> None:
        log = self.root / f"{name}.log"
        self.processes[name] = CeleryProcess(name, arguments, env, log, " ready.")

    @property
    def ingest_workers(self) -> list[CeleryProcess]:
        return [self.processes["ingest-a"], self.processes["ingest-b"]]

    @property
    def details(self) -> CeleryProcess:
        return self.processes["details"]

    def start(self) -> None:
        for process in self.processes.values():
            process.start(wait=False)
        for process in self.processes.values():
            process.wait_ready()

    def stop(self) -> None:
        for process in self.processes.values():
            process.resume()
            process._signal(signal.SIGTERM)
        for process in self.processes.values():
            process.stop()

    def owner_of(self, pid: int) -> CeleryProcess | None:
        return next((p for p in self.processes.values() if p.owns(pid)), None)

    def logs(self) -> dict[str, str]:
        return {name: p.log() for name, p in self.processes.items() if p.log_path.exists()}
