"""The deployment ``bench/chaos.py`` tortures, and the things it does to it.

Private PostgreSQL and Redis (``bench/chaos_services.py``), the simulator in this process
(``tests.support.simulator_harness.running``), a config file, and the Celery processes of
``bench/chaos_processes.py``. Passes are driven as in production: beat ticks the provider; the
suite also ticks it every second (like an impatient operator: a tick does nothing unless an
action is due) and ends the rest with ``ingest.trigger`` on the admin queue.
"""

import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from celery import Celery
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from bench.chaos_processes import CeleryProcess, Cluster
from bench.chaos_scenarios import FaultCase
from bench.chaos_services import PrivatePostgres, PrivateRedis
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.contracts.states import OPEN_TICKET
from catalog_ingest.providers.openchoreo.payloads import Component
from catalog_ingest.providers.openchoreo.translate import is_service
from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import SimulatorConfig
from models.tables import bursts, ingestions
from tests.support.databases import migrated_engine
from tests.support.openchoreo_catalog import OWNER
from tests.support.simulator_harness import Running
from tests.support.simulator_harness import running as serve_simulator
from workers import task_names
from workers.celery_app import create_app

T = TypeVar("T")
PROVIDER = "chaos"
BASE_FAULTS: dict[str, Any] = {"latency_ms": 5.0, "detail_latency_ms": 20.0}
"""Enough latency that a pass spans many short bursts and a kill lands inside one."""
BURST_LENGTH, MARGIN = 2.0, 1.0
LOCK_TTL = BURST_LENGTH + 3 * MARGIN
"""``workers/limits.py``: soft = burst + margin, hard = soft + margin, TTL = hard + margin."""
OPTIONS: dict[str, Any] = {
    "burst_length": BURST_LENGTH,
    "burst_interval": 5,
    "rest_length": 60,
    "chunk_size": 5,
    "backoff": [1, 2, 4],
    "max_concurrent_requests": 8,
    "batch_delay_ms": 0,
    "max_pending_pages": 20,
    "pending_page_timeout": 5,
    "reject_removals_above_percentage": 40,
    "reject_empty_source_collections": True,
}
WORKER: dict[str, Any] = {
    "time_limit_margin": MARGIN,
    "visibility_timeout": 60,
    "detail_time_limit": 30,
    "details_per_task": 5,
    "request_slot_lease": 5,
}
POLL = 0.05
SOFT_TIME_LIMIT = "SoftTimeLimitExceeded"
UNTESTED = "untested:"
"""Starts the note of a run whose disruption could not be applied (it counts as failed)."""
RETRIGGER_SECONDS = 5.0
NOT_LIVE = "NOT LIVE:"
"""Starts the note of a run where the deployment stopped progressing (it counts as failed)."""
TAKEOVER_WAIT = LOCK_TTL + 15


class PassTimeoutError(RuntimeError):
    """A pass did not complete in time."""


def write_config(root: Path, database_url: str, redis_url: str, api_url: str) -> Path:
    settings = {
        "base_url": f"{api_url}/api/v1",
        "api_generation": "orgs",
        "default_owner": OWNER,
        "namespace_strategy": "default",
        "timeout_seconds": 1.0,
        "retries": 3,
        "max_retry_delay_seconds": 1.0,
    }
    provider = {"name": PROVIDER, "type": "openchoreo", "settings": settings, "options": OPTIONS}
    config = {
        "database_url": database_url,
        "redis_url": redis_url,
        "providers": [provider],
        "worker": WORKER,
    }
    path = root / "ingest.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def poll(check: Callable[[], T | None], timeout: float, give_up: Callable[[], bool]) -> T | None:
    """``check``'s first truthy value; None once ``give_up()`` or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not give_up():
        value = check()
        if value:
            return value
        time.sleep(POLL)
    return None


@dataclass
class Deployment:
    root: Path
    spec: DatasetSpec
    postgres: PrivatePostgres
    redis: PrivateRedis
    simulator: Running
    config_path: Path
    database: Engine
    app: Celery
    cluster: Cluster
    rng: random.Random
    detail_calls_of_last_pass: int = 0
    _detail_base: int = 0
    _last_tick: float = 0.0
    _last_trigger: float = 0.0
    _soft_limits_seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def running(cls, root: Path, spec: DatasetSpec, seed: int) -> Iterator["Deployment"]:
        with ExitStack() as stack:
            postgres = PrivatePostgres(root)
            stack.callback(postgres.stop)
            postgres.start()
            redis = PrivateRedis(root)
            stack.callback(redis.stop)
            redis.start()
            config = SimulatorConfig(faults=FaultSettings(**BASE_FAULTS))
            simulator = stack.enter_context(serve_simulator(spec, config))
            config_path = write_config(root, postgres.url, redis.url, simulator.url)
            database = migrated_engine(postgres.url)
            stack.callback(database.dispose)
            app = create_app(load_config(config_path))
            stack.callback(app.close)
            cluster = Cluster(root, config_path)
            stack.callback(cluster.stop)
            cluster.start()
            yield cls(root, spec, postgres, redis, simulator, config_path, database, app, cluster,
                      random.Random(seed))  # fmt: skip

    @property
    def dataset(self) -> Any:
        return self.simulator.dataset

    def describe(self) -> str:
        return (
            f"chaos: postgres 127.0.0.1:{self.postgres.port}, redis 127.0.0.1:{self.redis.port}, "
            f"simulator {self.simulator.url} ({self.spec.total_components} components), "
            f"workers {', '.join(self.cluster.processes)}, lock TTL {LOCK_TTL:g}s, in {self.root}"
        )

    # Reading the pass

    def open_row(self) -> Any | None:
        try:
            with self.database.connect() as connection:
                return connection.execute(
                    select(ingestions).where(
                        ingestions.c.provider_name == PROVIDER,
                        ingestions.c.completion_ticket == OPEN_TICKET,
                    )
                ).first()
        except SQLAlchemyError:
            return None  # PostgreSQL is restarting

    def current(self, previous: str | None) -> Any | None:
        """The pass started after ``previous`` (the open ingestion when it was triggered)."""
        row = self.open_row()
        return row if row is not None and row.id != previous else None

    def done(self, previous: str | None) -> bool:
        row = self.current(previous)
        return row is not None and row.status == "resting"

    def detail_calls(self) -> int:
        calls: int = self.simulator.simulator.stats.snapshot()["by_endpoint"]["detail"]
        return calls

    # Driving passes

    def send(self, task: str, *args: str) -> bool:
        """Enqueue a task; False while Redis is down."""
        try:
            policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
            self.app.send_task(task, args=args, retry=True, retry_policy=policy)
        except Exception:
            return False
        return True

    def start_pass(self) -> str | None:
        """End the rest (a pass must be resting): the id of the pass that rests."""
        row = self.open_row()
        self._detail_base = self.detail_calls()
        if row is not None:
            self.send(task_names.TRIGGER, PROVIDER)
            self._last_trigger = time.monotonic()
        self.send(task_names.TICK, PROVIDER)
        return None if row is None else str(row.id)

    def _nudge(self, previous: str | None) -> None:
        """Tick every second; trigger again if the rest has not ended after a while (the
        trigger was lost: Redis restarted). Never sooner: a late trigger would end the rest
        of the pass it meant to start."""
        now = time.monotonic()
        if now - self._last_tick < 1.0:
            return
        self._last_tick = now
        self.send(task_names.TICK, PROVIDER)
        if previous is None or now - self._last_trigger < RETRIGGER_SECONDS:
            return
        row = self.open_row()
        if row is not None and row.id == previous and row.status == "resting":
            self.send(task_names.TRIGGER, PROVIDER)
            self._last_trigger = now

    def wait_pass(self, previous: str | None, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            row = self.current(previous)
            if row is not None and row.status == "resting":
                self.detail_calls_of_last_pass = self.detail_calls() - self._detail_base
                return row
            if time.monotonic() > deadline:
                state = "not opened" if row is None else f"{row.status}, {row.pages} pages"
                error = row.last_error if row is not None else None
                raise PassTimeoutError(f"pass not complete after {timeout:g}s ({state}; {error})")
            self._nudge(previous)
            time.sleep(0.1)

    def recover(self, notes: list[str]) -> None:
        """After a pass that did not complete: restart what died, cancel the pass, and wait
        for a fresh one to rest, so the next scenario starts from a resting provider."""
        self.ensure_alive(notes)
        row = self.open_row()
        self.send(task_names.START, PROVIDER)
        try:
            self.wait_pass(None if row is None else str(row.id), 300)
        except PassTimeoutError as error:
            notes.append(f"recovery failed: {error}")

    def ensure_alive(self, notes: list[str]) -> None:
        for process in self.cluster.processes.values():
            if not process.alive():
                code = None if process.process is None else process.process.returncode
                notes.append(f"{process.name} had exited ({code}); restarted")
                process.start()

    # What is done to a pass

    def _live_burst(self, previous: str | None, pages: int) -> tuple[CeleryProcess, Any] | None:
        """The ingest worker running a burst of the current pass, once it has ``pages``."""
        row = self.current(previous)
        if row is None or row.status != "bursting" or row.pages < pages:
            return None
        try:
            with self.database.connect() as connection:
                open_bursts = connection.execute(
                    select(bursts)
                    .where(bursts.c.ingestion_id == row.id, bursts.c.ended_at.is_(None))
                    .order_by(bursts.c.started_at.desc())
                ).all()
        except SQLAlchemyError:
            return None
        for burst in open_bursts:
            owner = self.cluster.owner_of(int(burst.worker.rsplit(":", 1)[-1]))
            if owner in self.cluster.ingest_workers:
                return owner, burst
        return None

    def kill_burst_worker(self, previous: str | None, pages: int) -> list[str]:
        found = poll(lambda: self._live_burst(previous, pages), 120, lambda: self.done(previous))
        if found is None:
            return [f"{UNTESTED} no burst to kill: the pass ended first"]
        victim, burst = found
        victim.kill()
        row = self.current(previous)
        landed = f"at page {row.pages}" if row is not None else "mid-pass"
        victim.start()
        return [f"kill -9 {victim.name} in burst {burst.id} {landed}"]

    def kill_details_worker(self, previous: str | None, calls: int, pause: float) -> list[str]:
        def far_enough() -> bool:
            return self.detail_calls() - self._detail_base >= calls

        if poll(far_enough, 120, lambda: self.done(previous)) is None:
            return [f"{UNTESTED} no detail call to interrupt: the pass ended first"]
        details = self.cluster.details
        details.kill()
        time.sleep(pause)
        details.start()
        return [f"kill -9 details after {calls}+ detail calls, restarted {pause:.1f}s later"]

    def freeze_burst_worker(self, previous: str | None) -> list[str]:
        """SIGSTOP the burst's worker until its lock expired and the other worker ran a
        burst of the pass; then SIGCONT."""
        found = poll(lambda: self._live_burst(previous, 1), 120, lambda: self.done(previous))
        if found is None:
            return [f"{UNTESTED} no burst to freeze: the pass ended first"]
        frozen, burst = found
        frozen.pause()
        stopped = time.monotonic()
        other = next(w for w in self.cluster.ingest_workers if w is not frozen)
        took_over = poll(lambda: self._other_burst(previous, other), TAKEOVER_WAIT, lambda: False)
        while time.monotonic() - stopped < LOCK_TTL + 1:
            self._nudge(previous)
            time.sleep(POLL)
        blocked = [] if took_over else self.blocked_sessions()
        frozen.resume()
        seconds = time.monotonic() - stopped
        notes = [f"froze {frozen.name} {seconds:.1f}s (lock TTL {LOCK_TTL:g}s)"]
        if took_over:
            notes.append(f"{other.name} took over")
        else:
            notes.append(f"{NOT_LIVE} {other.name} did not take over in {TAKEOVER_WAIT:g}s")
            notes += blocked
        outcome = poll(lambda: self._outcome(burst.id), 30, lambda: False)
        notes.append(f"frozen burst ended: {outcome or 'not recorded (its task raised)'}")
        return notes

    def blocked_sessions(self) -> list[str]:
        """Why nobody progresses: PostgreSQL sessions idle in a transaction (a frozen client
        keeps its row locks) and sessions waiting for a lock."""
        query = text(
            "SELECT state, wait_event_type, now() - state_change AS held, left(query, 60) AS q "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (state = 'idle in transaction' OR wait_event_type = 'Lock')"
        )
        try:
            with self.database.connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError as error:
            return [f"pg_stat_activity unreadable: {error}"]
        return [
            f"session {row.state}{' waiting for a lock' if row.wait_event_type == 'Lock' else ''}"
            f" for {row.held.total_seconds():.0f}s: {row.q!r}"
            for row in rows
        ]

    def _other_burst(self, previous: str | None, other: CeleryProcess) -> bool:
        self._nudge(previous)
        found = self._live_burst(previous, 0)
        return found is not None and found[0] is other

    def _outcome(self, burst_id: int) -> str | None:
        try:
            with self.database.connect() as connection:
                row = connection.execute(select(bursts).where(bursts.c.id == burst_id)).first()
        except SQLAlchemyError:
            return None
        return None if row is None or row.ended_at is None else str(row.outcome)

    def restart_mid_pass(self, previous: str | None, server: str) -> list[str]:
        def in_progress() -> bool:
            row = self.current(previous)
            return row is not None and row.pages >= 2 and self.detail_calls() > self._detail_base

        if poll(in_progress, 120, lambda: self.done(previous)) is None:
            return [f"{UNTESTED} no pass to interrupt: {server} not restarted"]
        started = time.monotonic()
        if server == "redis":
            self.redis.restart()
        else:
            self.postgres.restart()
        notes = [f"{server} restarted mid-pass ({time.monotonic() - started:.1f}s down)"]
        time.sleep(2)
        self.ensure_alive(notes)
        return notes

    def soft_time_limit_notes(self) -> list[str]:
        """Issue 15, item 13: ``SoftTimeLimitExceeded`` in a worker's log (new ones)."""
        notes = []
        for name, log in self.cluster.logs().items():
            count = log.count(SOFT_TIME_LIMIT)
            if count > self._soft_limits_seen.get(name, 0):
                notes.append(f"{name} logged {SOFT_TIME_LIMIT} ({count} in all)")
            self._soft_limits_seen[name] = count
        return notes

    # The upstream

    def set_faults(self, case: FaultCase) -> list[str]:
        settings = {**BASE_FAULTS, **case.settings, "fault_seed": self.rng.randrange(1 << 30)}
        failing = self.pick_services(case.failing_components)
        self.simulator.set_faults(**settings, fail_components=failing)
        return [f"failing: {', '.join(failing)}"] if failing else []

    def clear_faults(self) -> None:
        self.simulator.set_faults(**BASE_FAULTS)

    def await_reported_error(self, previous: str | None) -> list[str]:
        """For a fault that blocks the pass: wait for its error, then lift the fault."""

        def reported() -> str | None:
            self._nudge(previous)
            row = self.current(previous)
            return None if row is None or not row.last_error else str(row.last_error)

        error = poll(reported, 120, lambda: self.done(previous))
        self.clear_faults()
        return [f"while on: {error[:100]}" if error else f"{UNTESTED} the pass never met the fault"]

    def pick_services(self, count: int) -> list[str]:
        services = [
            node.upstream_path
            for node in self.dataset.iter_nodes("component")
            if is_service(Component.model_validate(self.dataset.record(node)))
        ]
        return sorted(self.rng.sample(services, min(count, len(services))))

    def remove_paths(self, paths: list[str]) -> list[str]:
        for path in paths:
            self.dataset.remove(path)
        return paths

    def restore(self, paths: list[str]) -> None:
        with self.dataset.lock:
            for path in paths:
                self.dataset.overlay.removed.discard(tuple(path.split("/")))
            self.dataset.overlay.generation += 1
