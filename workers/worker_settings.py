"""Worker-process settings (pydantic-settings), from the same sources as the application config.

Highest priority first: init kwargs, the environment (``INGEST_<NAME>``, e.g.
``INGEST_DETAILS_PER_TASK``; an empty variable overrides nothing), then the ``worker:`` section
of the config file (``INGEST_CONFIG``), in snake_case or camelCase. The keys and their bounds are
defined once, in :class:`~catalog_ingest.app.config.schema.WorkerFields`, which also validates
the section when the application config is loaded (``ingest check-config``).
"""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from catalog_ingest.app.config.loading import ConfigFileSettings
from catalog_ingest.app.config.schema import WorkerFields


class WorkerSettings(ConfigFileSettings, WorkerFields):
    """Celery-side knobs: ``broker_url``, time limits, detail grouping, request-slot lease."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", env_ignore_empty=True)
    config_section: ClassVar[str | None] = "worker"
