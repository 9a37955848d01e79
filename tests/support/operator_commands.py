"""The ``ingest`` command as an operator runs it, README commands, and Flower as a subprocess.

Commands get the configuration with ``--config PATH`` only: the environment they run in is the
deployment's without ``INGEST_CONFIG`` (and without DATABASE_URL/REDIS_URL overrides), so a
command that ignored ``--config`` would not find the deployment's broker or database.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from catalog_ingest.providers.synthetic import SyntheticSource
from models.tables import ingestions, marks
from tests.support.celery_deployment import Deployment, wait_for
from tests.support.readme_commands import readme_command, substituted

T = TypeVar("T")
PROVIDER = "synth"
PACING = {"burst_length": 1, "burst_interval": 5, "rest_length": 1}
"""The minimum burst interval and rest (1 minute): a rest never ends by itself in a test."""

QUICK = {
    "name": PROVIDER,
    "type": "synthetic",
    "options": PACING,
    "settings": {"entities": 300, "page_size": 100, "seed": 5},
}
"""A pass is three fast pages: one burst completes it."""

FLOWER_USER = "user"
FLOWER_PASSWORD = "secret"
FLOWER_AUTH = f"{FLOWER_USER}:{FLOWER_PASSWORD}"
FLOWER_AUTH_ENV = "FLOWER_BASIC_AUTH"

TASK_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ENQUEUED = re.compile(
    r"^(?P<task>ingest\.[a-z]+)(?:\[(?P<provider>[a-z0-9-]+)\])? enqueued: "
    rf"task id (?P<id>{TASK_ID})$"
)
README_PROVIDER = {'"openchoreo"': f'"{PROVIDER}"'}
"""README commands act on its ``openchoreo`` provider; the test deployments' is ``synth``."""

BROKER_URL = re.compile(r'class="[^"]*\bbroker-url\b[^"]*">\s*(?P<url>[^<\s]+)\s*<')


def where(url: str) -> tuple[str | None, int | None, str]:
    """A URL's host, port and path: what names a Redis database, without credentials."""
    parts = urlsplit(url)
    return parts.hostname, parts.port, parts.path


def command_env(deployed: Deployment, **extra: str) -> dict[str, str]:
    """The deployment's environment minus INGEST_CONFIG and FLOWER_BASIC_AUTH, plus ``extra``."""
    environment = deployed.env()
    environment.pop("INGEST_CONFIG", None)
    environment.pop(FLOWER_AUTH_ENV, None)
    return {**environment, **extra}


def ingest_command(deployed: Deployment, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args, "--config", str(deployed.config_path)]


def run_ingest_commands(
    deployed: Deployment, *commands: tuple[str, ...], timeout: float = 60
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``ingest`` commands side by side (each one pays the interpreter's start-up)."""
    processes = [
        subprocess.Popen(
            ingest_command(deployed, *command),
            env=command_env(deployed),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    finished = []
    for command, process in zip(commands, processes, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise AssertionError(
                f"ingest {' '.join(command)} did not finish in {timeout:g}s"
            ) from None
        finished.append(
            subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        )
    return finished


def enqueued_task_id(
    result: subprocess.CompletedProcess[str], task: str, provider: str | None
) -> str:
    """The task id an admin command printed; fails unless it exited 0 naming ``task``."""
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    match = ENQUEUED.match(result.stdout.strip())
    assert match is not None, f"unexpected output: {result.stdout!r}"
    assert (match["task"], match["provider"]) == (task, provider)
    return match["id"]


def admin_command(deployed: Deployment, action: str, provider: str | None = "synth") -> str:
    """Run ``ingest ACTION [PROVIDER] --config PATH``; returns the enqueued task's id."""
    args = (action, provider) if provider else (action,)
    [result] = run_ingest_commands(deployed, args)
    return enqueued_task_id(result, f"ingest.{action}", provider)


def run_shell(command: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with bash, as pasted from the README; this virtualenv's executables
    (``celery``) come first on the PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    return subprocess.run(
        ["bash", "-c", command],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def readme_celery_call(deployed: Deployment) -> str:
    """Run the README's ``celery --app=workers call ingest.trigger ...`` line for the test's
    provider, with the deployment's environment; returns the task id it printed."""
    command = substituted(readme_command("celery --app=workers call "), README_PROVIDER)
    result = run_shell(command, deployed.env())
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stderr}"
    assert re.fullmatch(TASK_ID, result.stdout.strip()), f"celery call printed {result.stdout!r}"
    return result.stdout.strip()


def worker_log(deployed: Deployment) -> str:
    return "\n".join(worker.log_path.read_text(errors="replace") for worker in deployed.workers)


def task_result_line(deployed: Deployment, task: str, task_id: str) -> str | None:
    """The worker's ``Task NAME[ID] succeeded in ...: RESULT`` line, once it is logged."""
    needle = f"{task}[{task_id}] succeeded"
    return next((line for line in worker_log(deployed).splitlines() if needle in line), None)


def ingestion_row(deployed: Deployment, ingestion_id: str) -> Any:
    with deployed.database.connect() as connection:
        return connection.execute(select(ingestions).where(ingestions.c.id == ingestion_id)).first()


def ingestion_ids(deployed: Deployment, provider: str = "synth") -> set[str]:
    with deployed.database.connect() as connection:
        return set(
            connection.execute(
                select(ingestions.c.id).where(ingestions.c.provider_name == provider)
            ).scalars()
        )


def first_cursor(deployed: Deployment, ingestion_id: str) -> Any:
    """The cursor committed with the pass's first page (where the page after it starts)."""
    with deployed.database.connect() as connection:
        return connection.execute(
            select(marks.c.cursor).where(
                marks.c.ingestion_id == ingestion_id, marks.c.sequence == 1
            )
        ).scalar_one()


def ticking_until(
    deployed: Deployment, check: Callable[[], T | None], timeout: float, what: str
) -> T:
    """Poll ``check`` while sending ``ingest.tick`` every second, as beat would (faster)."""
    last_tick = [0.0]

    def ticked() -> T | None:
        if time.monotonic() - last_tick[0] >= 1.0:
            deployed.send("ingest.tick", PROVIDER)
            last_tick[0] = time.monotonic()
        return check()

    return wait_for(ticked, timeout, what, every=0.25)


def open_with(deployed: Deployment, condition: Callable[[Any], bool]) -> Any:
    row = deployed.open_ingestion(PROVIDER)
    return row if row is not None and condition(row) else None


def logged_result(deployed: Deployment, task: str, task_id: str) -> str:
    """The worker's log line for the task's success (it includes the returned value)."""
    return wait_for(
        lambda: task_result_line(deployed, task, task_id),
        30,
        f"the worker to log {task}[{task_id}] as succeeded:\n{worker_log(deployed)[-3000:]}",
    )


def quick_pass_resting(deployed: Deployment) -> Any:
    """Tick until the first pass of :data:`QUICK` completes; returns its resting ingestion.

    Its rest lasts one minute: it never ends by itself while a test acts on it.
    """
    first = ticking_until(
        deployed, lambda: deployed.resting(PROVIDER), 60, "the first pass to complete"
    )
    assert first.next_action == "rest"
    assert first.next_action_at >= datetime.now(UTC) + timedelta(seconds=40)
    assert deployed.sequences(first.id) == [1, 2, 3]
    return first


def next_quick_pass_completed_before_the_rest_ends(deployed: Deployment, first: Any) -> Any:
    """Tick until a pass after ``first`` completes; fails unless ``first``'s rest was cut short.

    ``first`` is closed as done, with its rest completed before it would have ended by itself,
    and the new pass brought the whole source into the catalog.
    """
    rest_ends_at = first.next_action_at
    second = ticking_until(
        deployed,
        lambda: open_with(deployed, lambda row: row.id != first.id and row.status == "resting"),
        60,
        "a second pass to open and complete",
    )
    assert datetime.now(UTC) < rest_ends_at, "the rest ended by itself, not by the admin task"
    closed = ingestion_row(deployed, first.id)
    assert closed is not None
    assert (closed.status, closed.next_action) == ("complete", "nothing (done)")
    assert closed.completion_ticket != "open"
    assert closed.rest_completed_at is not None and closed.rest_completed_at < rest_ends_at
    assert deployed.sequences(second.id) == [1, 2, 3]
    source = SyntheticSource(size=300, seed=5)
    assert deployed.catalog_refs() == {source.ref_of(i) for i in range(300)}
    return second


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FlowerProcess:
    """``ingest flower`` (which execs ``celery flower``) in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @classmethod
    def start(
        cls, deployed: Deployment, env: Mapping[str, str], log_name: str = "flower.log"
    ) -> "FlowerProcess":
        port = free_port()
        log_path = deployed.config_path.parent / log_name
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ingest_command(deployed, "flower", "--port", str(port)),
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, port, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def answering(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"flower exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/healthcheck", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def wait_until_answering(self, timeout: float = 60) -> None:
        wait_for(self.answering, timeout, f"flower to answer on port {self.port}:\n{self.log()}")

    def get(
        self, path: str, auth: tuple[str, str] | None = (FLOWER_USER, FLOWER_PASSWORD)
    ) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", auth=auth, timeout=10)

    def tasks(self) -> dict[str, dict[str, Any]]:
        """Flower's task list (``GET /api/tasks``): task id -> what Flower knows of it."""
        response = self.get("/api/tasks")
        assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
        tasks: dict[str, dict[str, Any]] = response.json()
        return tasks

    def broker(self) -> tuple[str | None, int | None, str]:
        """Host, port and path (the Redis db) of the broker Flower's ``/broker`` page shows."""
        response = self.get("/broker")
        assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
        match = BROKER_URL.search(response.text)
        assert match is not None, f"no broker url on flower's broker page:\n{response.text}"
        return where(match["url"])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@contextmanager
def running_flower(
    deployed: Deployment, env: Mapping[str, str] | None = None
) -> Iterator[FlowerProcess]:
    """Flower answering HTTP, stopped on exit; started with ``env``, by default the deployment's
    with ``FLOWER_BASIC_AUTH`` set to the tests' user and password."""
    flower = FlowerProcess.start(deployed, env or deployed.env(**{FLOWER_AUTH_ENV: FLOWER_AUTH}))
    try:
        flower.wait_until_answering()
        yield flower
    finally:
        flower.stop()


def wait_for_live_events(deployed: Deployment, flower: FlowerProcess, timeout: float = 30) -> str:
    """Send ticks until Flower lists one: its event receiver is connected from then on.

    Events published before Flower subscribed are lost, so Flower's readiness is shown by a task
    sent after it answered HTTP. A tick counts only once Flower lists it with its arguments: a
    receiver that joined mid-task sees only the later events of that task, which carry none.
    Returns that tick's id.
    """
    sent: list[str] = []

    def a_tick_is_listed() -> str | None:
        sent.append(deployed.send("ingest.tick", "synth"))
        listed = flower.tasks()
        return next(
            (
                task_id
                for task_id in sent
                if "'synth'" in str(listed.get(task_id, {}).get("args") or "")
            ),
            None,
        )

    return wait_for(a_tick_is_listed, timeout, f"flower to list a tick:\n{flower.log()}", every=0.5)
