"""The parts of the Backstage end-to-end tests: the simulator-fed ingester (``ingest run
--embedded --serve``: the real tasks and the HTTP service in one process) and a real Backstage
backend (``backstage/e2e-backend``) in a node process, with readers of their answers and logs.

Both need ``make backstage`` (``npm ci`` in ``backstage/`` and the module's build); ``make
test`` runs it first.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from catalog_ingest.simulator.spec import DatasetSpec
from models.database import create_database_engine
from models.sql_repository import SqlRepository
from tests.support.cli_runner import run_ingest
from tests.support.http_service import API_SECTION, MANAGE_TOKEN, READ_TOKEN, bearer, free_port
from tests.support.simulator_harness import Running, running

REPOSITORY = Path(__file__).parents[2]
BACKSTAGE = REPOSITORY / "backstage"
E2E_BACKEND = BACKSTAGE / "e2e-backend" / "src" / "index.js"
MODULE_BUILD = BACKSTAGE / "catalog-backend-module-catalog-ingest" / "dist" / "index.js"
CLIENT_CHECK = BACKSTAGE / "catalog-client-check" / "check.js"

PROVIDER = "oc"
SPEC = DatasetSpec(orgs=2, projects=2, components=4, seed=14)
"""About forty entities: Backstage processes and stitches them in seconds on two cores."""
POLL_SECONDS = 2
"""The module's schedule (``catalogIngest.schedule.frequency``)."""
BATCH_SIZE = 10
"""``catalogIngest.batchSize``: small, so the first load, the resume and the relist span pages."""
CONVERGE_SECONDS = 120.0
"""Deadline for Backstage's processing and stitching after the module applied a batch."""
PASS_SECONDS = 120.0
MANAGEMENT = "/api/catalog/incremental"
KINDS = ("Component", "System", "API", "Domain", "Resource", "Location", "Group", "User")
"""``catalog.rules``: provider entities of every kind are accepted."""
LOCATION_ANNOTATIONS = (
    "backstage.io/managed-by-location",
    "backstage.io/managed-by-origin-location",
)

BATCH_LINE = re.compile(
    r"catalog-ingest applied feed batch after=(\d+) next=(\d+) added=(\d+) removed=(\d+)"
)
RUN_LINE = re.compile(
    r"catalog-ingest run done: batches=(\d+) added=(\d+) removed=(\d+) relisted=(\w+) "
    r"drained=(\w+) position=(\d+)"
)
RELIST_LINE = re.compile(
    r"catalog-ingest relist done: pages=(\d+) entities=(\d+) removed=(\d+) position=(\d+)"
)

FAILURE_LINE = re.compile(r"catalog-ingest run failed, the next run retries: ([^\"\n]*)")

T = TypeVar("T")


def wait_for(
    what: str,
    check: Callable[[], T | None],
    timeout: float,
    explain: Callable[[], str] = lambda: "",
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{explain()}")
        time.sleep(0.25)


def ref_of(entity: dict[str, Any]) -> str:
    metadata = entity["metadata"]
    return f"{entity['kind']}:{metadata.get('namespace', 'default')}/{metadata['name']}".lower()


# --- the ingester: one embedded process with the HTTP service ------------------------------


@dataclass
class Ingester:
    """``ingest run --embedded --serve`` on a SQLite file, reading the simulator."""

    tmp_path: Path
    upstream: Running
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    pass_seconds: float = PASS_SECONDS
    """Deadline of one pass (``first_pass``, ``run_pass``)."""
    provider_options: dict[str, Any] = field(default_factory=dict)
    """Over the provider's ``options`` below (a larger catalog may want a longer burst)."""

    @property
    def config(self) -> Path:
        return self.tmp_path / "ingest.yaml"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.tmp_path / 'ingest.db'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp_path / "ingest.log"

    def start(self) -> None:
        provider = {
            "name": PROVIDER,
            "type": "openchoreo",
            "settings": {
                "baseUrl": f"{self.upstream.url}/api/v1",
                "apiGeneration": "namespaces",
                "defaultOwner": "platform-team",
            },
            # Passes only when the test starts one (a long rest after each).
            "options": {"burst_length": 120, "rest_length": 600, "batch_delay_ms": 0}
            | self.provider_options,
        }
        self.config.write_text(
            yaml.safe_dump(
                {"database_url": self.database_url, "providers": [provider], "api": API_SECTION}
            )
        )
        environment = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "run", "--embedded", "--serve", "--port",
             str(self.port), "--config", str(self.config)],
            cwd=REPOSITORY, env=environment, stdout=self.log.open("w"),
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def status(self) -> dict[str, Any] | None:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        try:
            response = httpx.get(
                f"{self.url}{MANAGEMENT}/providers/{PROVIDER}", headers=bearer(READ_TOKEN)
            )
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body

    def resting_after(self, previous: str | None) -> dict[str, Any] | None:
        body = self.status()
        if body is None or body["status"]["current_action"] != "resting":
            return None
        if body["current"]["ingestion_id"] == previous:
            return None
        return body

    def first_pass(self) -> str:
        body = wait_for("the first pass", lambda: self.resting_after(None), self.pass_seconds)
        return str(body["current"]["ingestion_id"])

    def run_pass(self, previous: str) -> str:
        response = httpx.post(
            f"{self.url}{MANAGEMENT}/providers/{PROVIDER}/start",
            headers=bearer(MANAGE_TOKEN),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body = wait_for("a new pass", lambda: self.resting_after(previous), self.pass_seconds)
        return str(body["current"]["ingestion_id"])

    def catalog(self) -> dict[str, dict[str, Any]]:
        """The merged catalog, by ref, through ``ingest export``."""
        result = run_ingest("export", "--format", "json", "--config", str(self.config))
        assert result.returncode == 0, result.stderr
        entities = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return {ref_of(entity): entity for entity in entities}

    def pending(self, after: int) -> int:
        """Feed items after ``after`` (a direct read of the ingester's database)."""
        repository = SqlRepository(create_database_engine(self.database_url))
        try:
            count = 0
            while True:
                batch = repository.read_feed(after, 1000)
                assert not batch.relist
                if not batch.changes:
                    return count
                count += len(batch.changes)
                after = batch.next_position
        finally:
            repository.engine.dispose()

    def purge_every_tombstone(self) -> int:
        """What the expiry task does once the window has passed, for every tombstone now."""
        repository = SqlRepository(create_database_engine(self.database_url))
        try:
            return repository.purge_tombstones(datetime.now(UTC) + timedelta(days=1), 100_000)
        finally:
            repository.engine.dispose()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# --- Backstage ------------------------------------------------------------------------------


@dataclass
class Backstage:
    """``backstage/e2e-backend`` in a node process; its database files survive restarts."""

    tmp_path: Path
    feed_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    batch_size: int = BATCH_SIZE
    """``catalogIngest.batchSize``."""
    poll_seconds: float = POLL_SECONDS
    """``catalogIngest.schedule.frequency``."""
    log_level: str | None = None
    """``backend.logger.level`` (Backstage's default, ``info``, when None)."""
    start_seconds: float = 120.0
    """Deadline for the backend to listen."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp_path / f"backstage-{self.starts}.log"

    def write_config(self) -> Path:
        config = self.tmp_path / "app-config.yaml"
        database = self.tmp_path / "backstage-db"
        database.mkdir(exist_ok=True)
        document = {
            "backend": {
                "baseUrl": self.url,
                "listen": {"port": self.port, "host": "127.0.0.1"},
                "database": {
                    "client": "better-sqlite3",
                    "connection": {"directory": str(database)},
                },
                "auth": {"dangerouslyDisableDefaultAuthPolicy": True},
                **({"logger": {"level": self.log_level}} if self.log_level else {}),
            },
            "catalog": {"rules": [{"allow": list(KINDS)}]},
            "catalogIngest": {
                "baseUrl": self.feed_url,
                "token": "${CATALOG_INGEST_TOKEN}",
                "batchSize": self.batch_size,
                "schedule": {
                    "frequency": {"seconds": self.poll_seconds},
                    "timeout": {"minutes": 5},
                },
            },
        }
        config.write_text(yaml.safe_dump(document))
        return config

    def start(self) -> None:
        self.starts += 1
        config = self.write_config()
        environment = {**os.environ, "CATALOG_INGEST_TOKEN": READ_TOKEN, "NODE_ENV": "production"}
        self.process = subprocess.Popen(
            ["node", str(E2E_BACKEND), "--config", str(config), "--port", str(self.port)],
            cwd=BACKSTAGE / "e2e-backend", env=environment, stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for("Backstage to listen", self.started, self.start_seconds)

    def started(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"Backstage exited:\n{self.log.read_text()}")
        return "backstage e2e backend listening on" in self.log.read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text()

    def batches(self) -> list[tuple[int, int, int, int]]:
        """``(after, next, added, removed)`` of every feed batch this process applied."""
        return [tuple(map(int, m.groups())) for m in BATCH_LINE.finditer(self.output())]  # type: ignore[misc]

    def failures(self) -> str:
        """The module's failed runs (its request and the service's answer), for messages."""
        lines = FAILURE_LINE.findall(self.output())
        return "".join(f"\n  module: {line}" for line in lines[-5:])

    def runs(self) -> list[re.Match[str]]:
        return list(RUN_LINE.finditer(self.output()))

    def entities(self, page_size: int = 100) -> dict[str, dict[str, Any]]:
        """Everything Backstage's catalog answers, through ``/entities/by-query`` with cursors."""
        found: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {"limit": page_size}
        for _ in range(1000):
            response = httpx.get(
                f"{self.url}/api/catalog/entities/by-query", params=params, timeout=120
            )
            assert response.status_code == 200, response.text
            body = response.json()
            for entity in body["items"]:
                found[ref_of(entity)] = entity
            cursor = body["pageInfo"].get("nextCursor")
            if not cursor:
                return found
            params = {"limit": page_size, "cursor": cursor}
        raise AssertionError("Backstage's by-query kept paging")

    def count(self) -> int:
        """``totalItems`` of an unfiltered ``/entities/by-query``: the entities it answers."""
        response = httpx.get(
            f"{self.url}/api/catalog/entities/by-query",
            params={"limit": 1, "fields": "kind"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return int(response.json()["totalItems"])

    def by_refs(self, refs: list[str]) -> list[dict[str, Any] | None]:
        """``POST /entities/by-refs``: the entities of ``refs``, None for the unknown ones."""
        response = httpx.post(
            f"{self.url}/api/catalog/entities/by-refs", json={"entityRefs": refs}, timeout=60
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any] | None] = response.json()["items"]
        return items


def same_catalog(backstage: Backstage, expected: dict[str, dict[str, Any]]) -> bool:
    held = backstage.entities()
    if set(held) != set(expected):
        return False
    return all(held[ref].get("spec") == expected[ref].get("spec") for ref in expected)


def assert_same_catalog(backstage: Backstage, expected: dict[str, dict[str, Any]]) -> None:
    """Backstage holds exactly ``expected``: the same refs, specs and location annotations."""
    held = backstage.entities()
    assert sorted(held) == sorted(expected)
    for ref, entity in expected.items():
        assert held[ref].get("spec") == entity.get("spec"), ref
        annotations = held[ref]["metadata"].get("annotations", {})
        stamped = entity["metadata"].get("annotations", {})
        for key in LOCATION_ANNOTATIONS:
            assert annotations.get(key), (ref, key, annotations)
            assert annotations[key] == stamped.get(key), (ref, key)


def converge(backstage: Backstage, expected: dict[str, dict[str, Any]], what: str) -> None:
    try:
        wait_for(
            what, lambda: same_catalog(backstage, expected), CONVERGE_SECONDS, backstage.failures
        )
    except AssertionError:
        held = backstage.entities()
        missing = sorted(set(expected) - set(held))
        extra = sorted(set(held) - set(expected))
        raise AssertionError(
            f"{what}: missing {missing[:10]}, left over {extra[:10]}\n{backstage.output()[-4000:]}"
        ) from None
    assert_same_catalog(backstage, expected)


@contextmanager
def ingesting(tmp_path: Path) -> Iterator[tuple[Running, Ingester]]:
    """The simulator and the ingester, started (no Backstage)."""
    with running(SPEC) as upstream:
        ingester = Ingester(tmp_path, upstream)
        try:
            ingester.start()
            yield upstream, ingester
        finally:
            ingester.stop()


@contextmanager
def deployment(tmp_path: Path) -> Iterator[tuple[Running, Ingester, Backstage]]:
    with running(SPEC) as upstream:
        ingester = Ingester(tmp_path, upstream)
        backstage = Backstage(tmp_path, ingester.url)
        try:
            ingester.start()
            yield upstream, ingester, backstage
        finally:
            backstage.stop()
            ingester.stop()


def assert_built() -> None:
    assert MODULE_BUILD.exists() and (BACKSTAGE / "node_modules" / ".installed").exists(), (
        "the Backstage side is not built: run `make backstage` (make test does)"
    )
