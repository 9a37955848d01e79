"""The composition root: configuration in, a wired engine out.

This is the one place that chooses implementations (SQL store, providers by type, clock,
redactor). The CLI, the Celery worker and the tests all build their runtime here.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import Engine as Database

from catalog_ingest.app.config.problems import ConfigError, ConfigProblem
from catalog_ingest.app.config.schema import AppConfig, ProviderConfig
from catalog_ingest.app.source_providers import SOURCE_TYPES
from catalog_ingest.contracts.locking import ProviderLock
from catalog_ingest.contracts.provider import Provider
from catalog_ingest.coordination.local_slots import LocalRequestSlots
from catalog_ingest.coordination.redis_lock import RedisProviderLock
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import Clock, SystemClock
from catalog_ingest.engine.deferred_items import Dispatcher
from catalog_ingest.engine.redaction import Redactor
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.openchoreo.entity_provider import OpenChoreoProvider
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSettings
from migrations.runner import upgrade
from models.database import create_database_engine
from models.sql_repository import SqlRepository

ProviderFactory = Callable[[ProviderConfig], Provider]


def _synthetic(config: ProviderConfig) -> Provider:
    """Settings were validated with the configuration (``ProviderConfig``)."""
    settings = SyntheticSettings.model_validate(config.settings)
    return SyntheticProvider(
        config.name,
        settings.source(),
        page_size=settings.page_size or config.options.chunk_size,
        page_delay=settings.page_delay_ms / 1000,
    )


def _openchoreo(config: ProviderConfig) -> Provider:
    """Settings were validated with the configuration (``ProviderConfig``)."""
    settings = OpenChoreoSettings.model_validate(config.settings)
    return OpenChoreoProvider(config.name, settings, config.options)


def _unavailable(config: ProviderConfig) -> Provider:
    supported = ", ".join(sorted(PROVIDER_TYPES))
    raise ConfigError(
        [
            ConfigProblem(
                f"providers.{config.name}.type",
                config.type,
                f"this provider type is not available in this build (supported: {supported})",
            )
        ]
    )


PROVIDER_TYPES: Mapping[str, ProviderFactory] = {
    "synthetic": _synthetic,
    "openchoreo": _openchoreo,
    **SOURCE_TYPES,
}


def build_provider(config: ProviderConfig) -> Provider:
    return PROVIDER_TYPES.get(config.type, _unavailable)(config)


@dataclass
class Runtime:
    """Everything a process needs to run ingestions."""

    config: AppConfig
    database: Database
    repository: SqlRepository
    engine: Engine
    redactor: Redactor
    lock: ProviderLock

    def close(self) -> None:
        self.database.dispose()


def build_runtime(
    config: AppConfig,
    *,
    clock: Clock | None = None,
    providers: Mapping[str, ProviderBinding] | None = None,
    lock: ProviderLock | None = None,
    dispatcher: Dispatcher | None = None,
    migrate: bool = True,
    **database_options: Any,
) -> Runtime:
    """Wire storage, providers and the engine from configuration; migrate unless told not to.

    ``providers`` replaces the configured ones (the demo and tests bring their own); the lock
    defaults to the Redis lock at ``config.redis_url`` (no connection is made until it is used).
    ``dispatcher`` sends deferred items to child tasks (the Celery workers); without one, bursts
    resolve them in-process under in-process request slots.
    """
    database = create_database_engine(config.database_url, **database_options)
    if migrate:
        upgrade(database)
    if providers is None:
        providers = {
            pc.name: ProviderBinding(
                build_provider(pc), pc.options, pc.priority, passive=not pc.scheduled
            )
            for pc in config.all_providers()
        }
    redactor = Redactor(config.secrets())
    repository = SqlRepository(database)
    engine = Engine(
        repository,
        providers,
        clock or SystemClock(),
        redactor,
        dispatcher=dispatcher,
        local_slots=LocalRequestSlots,
    )
    if lock is None:
        lock = RedisProviderLock(redis.Redis.from_url(config.redis_url))
    return Runtime(config, database, repository, engine, redactor, lock)
