"""The per-process context tasks get their dependencies from (arq-style).

Built lazily on first use in each worker process: a context built (or installed) in another
process id is never used, so prefork children never share the parent's database pool or Redis
connections. The embedded mode and tests install their own with :func:`install`.
"""

import os
import threading
from dataclasses import dataclass

from catalog_ingest.config import AppConfig, load_config
from catalog_ingest.logs import configure_logging
from catalog_ingest.runtime import Runtime, build_runtime
from workers.limits import BurstLimits
from workers.settings import WorkerSettings


@dataclass
class WorkerContext:
    runtime: Runtime
    settings: WorkerSettings

    def limits(self, provider: str) -> BurstLimits:
        options = self.runtime.engine.binding(provider).options
        return BurstLimits.for_options(options, self.settings.time_limit_margin)


class _Slot:
    """This process's context; a forked child (another pid) builds its own."""

    context: WorkerContext | None = None
    pid: int | None = None
    guard = threading.Lock()


def build_context(config: AppConfig | None = None) -> WorkerContext:
    config = config or load_config()
    configure_logging(config.log_level)
    return WorkerContext(build_runtime(config), WorkerSettings())


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
