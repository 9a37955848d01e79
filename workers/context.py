"""The per-process context tasks get their dependencies from (arq-style).

Built lazily on first use in each worker process: a context built (or installed) in another
process id is never used, so prefork children never share the parent's database pool or Redis
connections. The embedded mode and tests install their own with :func:`install`.
"""

import os
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field

import redis

from catalog_ingest.app.composition import Runtime, build_runtime
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.contracts.provider import Resolve
from catalog_ingest.contracts.request_slots import RequestSlots
from catalog_ingest.coordination.local_slots import LocalRequestSlots
from catalog_ingest.coordination.redis_slots import RedisRequestSlots
from catalog_ingest.engine.deferred_items import open_resolver
from catalog_ingest.engine.redaction import Redactor
from workers.dispatch import CeleryDispatcher
from workers.limits import BurstLimits, DetailLimits
from workers.worker_settings import WorkerSettings


@dataclass
class WorkerContext:
    runtime: Runtime
    settings: WorkerSettings
    _slots: dict[str, RequestSlots] = field(default_factory=dict)
    _resolvers: dict[str, Resolve] = field(default_factory=dict)
    _open: ExitStack = field(default_factory=ExitStack)
    """Resolvers stay open for the process's life: one HTTP client (and its connection pool)
    per provider, shared by the detail tasks of every thread."""

    @property
    def distributed(self) -> bool:
        """Deferred items fan out as child tasks under request slots on Redis, shared by every
        process. False (the embedded mode: one process, one worker thread, no dispatcher):
        bursts resolve them inline under in-process slots, since child tasks would only queue
        behind each other."""
        return self.runtime.engine.dispatcher is not None

    def limits(self, provider: str) -> BurstLimits:
        options = self.runtime.engine.binding(provider).options
        return BurstLimits.for_options(options, self.settings.time_limit_margin)

    def resolver(self, provider: str) -> Resolve:
        """The provider's resolver under its request slots, opened on first use."""
        with _Slot.guard:
            if provider not in self._resolvers:
                binding = self.runtime.engine.binding(provider)
                self._resolvers[provider] = self._open.enter_context(
                    open_resolver(binding, self.slots(provider))
                )
            return self._resolvers[provider]

    def slots(self, provider: str) -> RequestSlots:
        """The provider's request slots: ``max_concurrent_requests`` calls in flight, each
        slot resting ``batch_delay_ms`` after a call, across every worker."""
        if provider not in self._slots:
            options = self.runtime.engine.binding(provider).options
            slots: RequestSlots
            if self.distributed:
                client = redis.Redis.from_url(self.runtime.config.redis_url)
                slots = RedisRequestSlots(
                    client,
                    provider,
                    options.max_concurrent_requests,
                    options.batch_delay,
                    self.settings.request_slot_lease,
                )
            else:
                slots = LocalRequestSlots(options.max_concurrent_requests, options.batch_delay)
            self._slots[provider] = slots
        return self._slots[provider]


class _Slot:
    """This process's context; a forked child (another pid) builds its own."""

    context: WorkerContext | None = None
    pid: int | None = None
    guard = threading.Lock()


def build_context(config: AppConfig | None = None) -> WorkerContext:
    """A worker process's context: the runtime wired with the Celery dispatcher."""
    config = config or load_config()
    configure_logging(config.log_level, Redactor(config.secrets()), config.log_format)
    settings = WorkerSettings()
    limits = DetailLimits.for_settings(settings.detail_time_limit, settings.time_limit_margin)
    dispatcher = CeleryDispatcher(limits, settings.details_per_task)
    return WorkerContext(build_runtime(config, dispatcher=dispatcher), settings)


def get_context() -> WorkerContext:
    with _Slot.guard:
        if _Slot.context is None or _Slot.pid != os.getpid():
            _Slot.context, _Slot.pid = build_context(), os.getpid()
        return _Slot.context


def install(context: WorkerContext | None) -> None:
    """Use ``context`` in this process (``None`` forgets it: rebuilt on next use).

    The previous context is dropped, not closed: after a fork its connections belong to the
    parent, and an installed context belongs to whoever built it.
    """
    with _Slot.guard:
        _Slot.context, _Slot.pid = context, os.getpid()
