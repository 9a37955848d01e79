"""The per-process context tasks get their dependencies from (arq-style).

Built lazily on first use in each worker process (after the prefork fork, so database pools and
Redis connections are never shared across processes); the embedded mode and tests install their
own with :func:`install`.
"""

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
    """This process's context (one per process; replaced with :func:`install`)."""

    context: WorkerContext | None = None
    guard = threading.Lock()


def build_context(config: AppConfig | None = None) -> WorkerContext:
    config = config or load_config()
    configure_logging(config.log_level)
    return WorkerContext(build_runtime(config), WorkerSettings())


def get_context() -> WorkerContext:
    with _Slot.guard:
        if _Slot.context is None:
            _Slot.context = build_context()
        return _Slot.context


def install(context: WorkerContext | None) -> None:
    """Use ``context`` in this process (``None`` forgets it: rebuilt on next use)."""
    with _Slot.guard:
        previous, _Slot.context = _Slot.context, context
    if previous is not None and previous is not context:
        previous.runtime.close()
