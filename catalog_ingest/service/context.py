"""What every route of the HTTP service shares: config, runtime, and how actions apply."""

from dataclasses import dataclass

from catalog_ingest.app.composition import Runtime, build_runtime
from catalog_ingest.app.config.schema import AppConfig
from models.database import sqlite_file
from workers.task_sender import TaskSender


@dataclass
class ServiceContext:
    """The service's runtime; ``sender`` is None when actions are applied directly."""

    config: AppConfig
    runtime: Runtime
    sender: TaskSender | None
    insecure_local: bool = False
    """No token configured, bound to loopback on request: every route is open."""

    def close(self) -> None:
        self.runtime.close()


def applies_directly(config: AppConfig) -> bool:
    """``api.actions``: auto is direct on SQLite (an embedded deployment has no shared broker
    that workers read), enqueue otherwise."""
    if config.api.actions == "auto":
        return sqlite_file(config.database_url) is not None
    return config.api.actions == "direct"


def build_context(config: AppConfig, *, insecure_local: bool = False) -> ServiceContext:
    runtime = build_runtime(config)
    sender = None if applies_directly(config) else TaskSender(config)
    return ServiceContext(config, runtime, sender, insecure_local)
