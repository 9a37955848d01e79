"""Real Celery workers, real Redis and PostgreSQL for the distributed tests.

Workers run as subprocesses (``celery -A workers worker``) in their own process group, so a
test can kill -9 a worker together with its pool children. Each test gets its own Redis
database index and PostgreSQL database; when Redis or PostgreSQL cannot be reached the tests
fail with the reason, never skip.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import yaml
from celery import Celery
from sqlalchemy import Engine, select

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.contracts.states import OPEN_TICKET
from models.tables import bursts, catalog_entities, ingestions, marks
from workers.celery_app import create_app

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
T = TypeVar("T")


def fresh_redis_url(index: int) -> str:
    """A flushed Redis database for one test; raises (fails the test) when Redis is down."""
    base = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    url = urlunsplit((base.scheme, base.netloc, f"/{index}", "", ""))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as error:
        raise RuntimeError(
            f"Redis is required for the distributed tests and is not reachable at {url!r} "
            f"(set REDIS_URL, or start it: see README): {error}"
        ) from error
    finally:
        client.close()
    return url


def wait_for(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


@dataclass
class Deployment:
    """A config file, its database and broker, and the workers started for it."""

    config_path: Path
    config: AppConfig
    database: Engine
    workers: list["WorkerProcess"] = field(default_factory=list)
    _app: Celery | None = None

    @property
    def app(self) -> Celery:
        if self._app is None:
            self._app = create_app(self.config)
        return self._app

    def env(self, **extra: str) -> dict[str, str]:
        environment = {**os.environ, "INGEST_CONFIG": str(self.config_path), **extra}
        for key in ("DATABASE_URL", "REDIS_URL", "INGEST_LOG_LEVEL"):
            environment.pop(key, None)
        return environment

    def start_worker(self, name: str, concurrency: int = 2, **env: str) -> "WorkerProcess":
        worker = WorkerProcess.start(self, name, concurrency, env)
        self.workers.append(worker)
        return worker

    def send(self, task: str, *args: str) -> str:
        return str(self.app.send_task(task, args=args).id)

    def open_ingestion(self, provider: str) -> Any:
        with self.database.connect() as connection:
            return connection.execute(
                select(ingestions).where(
                    ingestions.c.provider_name == provider,
                    ingestions.c.completion_ticket == OPEN_TICKET,
                )
            ).first()

    def resting(self, provider: str) -> Any:
        row = self.open_ingestion(provider)
        return row if row is not None and row.status == "resting" else None

    def backing_off(self, provider: str) -> Any:
        """The provider's open ingestion when it waits in backoff (a burst's error), else None."""
        row = self.open_ingestion(provider)
        return row if row is not None and row.next_action == "backoff" else None

    def burst_rows(self, provider: str) -> list[Any]:
        with self.database.connect() as connection:
            return list(
                connection.execute(
                    select(bursts)
                    .where(bursts.c.provider_name == provider)
                    .order_by(bursts.c.started_at)
                )
            )

    def sequences(self, ingestion_id: str) -> list[int]:
        with self.database.connect() as connection:
            return list(
                connection.execute(
                    select(marks.c.sequence)
                    .where(marks.c.ingestion_id == ingestion_id)
                    .order_by(marks.c.sequence)
                ).scalars()
            )

    def catalog_refs(self) -> set[str]:
        with self.database.connect() as connection:
            return set(connection.execute(select(catalog_entities.c.ref)).scalars())

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self._app is not None:
            self._app.close()


def write_config(path: Path, database_url: str, redis_url: str, providers: list[Any]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {"database_url": database_url, "redis_url": redis_url, "providers": providers}
        )
    )
    return path


@contextmanager
def deployment(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str, providers: list[Any]
) -> Iterator[Deployment]:
    path = write_config(tmp_path / "ingest.yaml", database_url, redis_url, providers)
    # environ={}: the file's URLs, as the workers read them (their environment drops
    # DATABASE_URL and REDIS_URL); REDIS_URL=redis://host:port would send to database 0.
    deployed = Deployment(path, load_config(path, environ={}), database)
    try:
        yield deployed
    finally:
        deployed.stop()


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls, deployed: Deployment, name: str, concurrency: int, env: dict[str, str]
    ) -> "WorkerProcess":
        log_path = deployed.config_path.parent / f"worker-{name}.log"
        command = [
            sys.executable, "-m", "celery", "--app=workers", "worker",
            "--queues=ingest,details,admin", f"--concurrency={concurrency}",
            f"--hostname={name}@%h", "--without-gossip", "--without-mingle",
            "--loglevel=INFO", "--pool=prefork",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, env=deployed.env(**env), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        worker = cls(name, process, log_path)
        wait_for(worker.ready, 60, f"worker {name} to be ready:\n{worker.log()}")
        return worker

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited:\n{self.log()}")
        return " ready." in self.log()

    def kill(self) -> None:
        """kill -9 the worker and its pool children, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class DeploymentReader:
    """Reads marks and catalog refs of one provider's open ingestion through the repository."""

    def __init__(self, repository: Any, provider: str) -> None:
        self.repository = repository
        self.provider = provider

    def marks(self) -> list[Any]:
        from catalog_ingest.engine import admin_operations

        return admin_operations.marks(self.repository, self.provider)

    def catalog_refs(self) -> set[str]:
        with self.repository.engine.connect() as connection:
            return set(connection.execute(select(catalog_entities.c.ref)).scalars())
