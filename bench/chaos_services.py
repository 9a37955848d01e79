"""Private PostgreSQL and Redis servers for ``bench/chaos.py``, started on free loopback ports.

The chaos suite restarts and kills its servers, so it never touches the machine's shared ones
(127.0.0.1:5432 and :6379): it runs its own from a temporary directory. PostgreSQL refuses to
run as root, so when the script runs as root its server runs as the ``postgres`` user (via
``runuser``), from directories that user owns.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

START_TIMEOUT = 30.0


class ServiceError(RuntimeError):
    """A private server could not be started (missing binaries, a failed start)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_bin_dir() -> Path:
    """Where ``initdb``, ``pg_ctl`` and ``postgres`` live: ``$PG_BIN``, else the newest
    ``/usr/lib/postgresql/*/bin``, else ``$PATH``; a missing one is an error, never a skip."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    for candidate in filter(None, candidates):
        if all((Path(candidate) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    raise ServiceError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install postgresql "
        "or set PG_BIN to their directory"
    )


class PrivatePostgres:
    """A throw-away cluster: ``initdb`` into ``root/pgdata``, served on ``port`` (TCP, loopback)
    and a Unix socket in ``root/pgsocket``. Durability is off (fsync): a crash of the machine
    is not a scenario; a crash of the server (``restart``: immediate mode) still is."""

    def __init__(self, root: Path) -> None:
        self.bin = postgres_bin_dir()
        self.root = root
        self.data = root / "pgdata"
        self.sockets = root / "pgsocket"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    def _own(self, *paths: Path) -> None:
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
            if self.as_postgres:
                user = pwd.getpwnam("postgres")
                os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            self._command(tool, *args), capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise ServiceError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")

    def start(self) -> None:
        self._own(self.data, self.sockets)
        self.log.touch()
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.log, user.pw_uid, user.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.sockets} -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def restart(self) -> None:
        """Crash and restart: every connection is cut and the server recovers from its WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server however it can be stopped (also after a failed start)."""
        if not (self.data / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (ServiceError, subprocess.TimeoutExpired):
            self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


class PrivateRedis:
    """``redis-server`` without persistence: a restart loses every queue, lock and slot, as a
    Redis without a volume does."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("redis-server not found: install redis")
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.log = root / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis.from_url(self.url)
        try:
            while not self._pings(client):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise ServiceError(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def restart(self) -> None:
        """kill -9 and start again on the same port: everything it held is gone."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None
