"""Worker-process settings (pydantic-settings), from the same sources as the application config.

Highest priority first: init kwargs, the environment (``INGEST_<NAME>``, e.g.
``INGEST_DETAILS_PER_TASK``; an empty variable overrides nothing), then the ``worker:`` section
of the config file (``INGEST_CONFIG``), in snake_case or camelCase. The keys and their bounds are
defined once, in :class:`~catalog_ingest.app.config.schema.WorkerFields`, which also validates
the section when the application config is loaded (``ingest check-config``).
"""

from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from catalog_ingest.app.config.loading import ConfigFileSettings
from catalog_ingest.app.config.problems import ConfigError, ConfigProblem, render
from catalog_ingest.app.config.schema import WorkerFields

ENV_PREFIX = "INGEST_"


class WorkerSettings(ConfigFileSettings, WorkerFields):
    """Celery-side knobs: ``broker_url``, time limits, detail grouping, request-slot lease.

    Invalid values are a :class:`ConfigError` (one line per problem, naming the variable),
    not pydantic's multi-line dump.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)
    config_section: ClassVar[str | None] = "worker"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(worker_problems(error)) from None


def worker_problems(error: ValidationError) -> list[ConfigProblem]:
    """``worker.details_per_task (INGEST_DETAILS_PER_TASK or the file): '0' - ...`` lines."""
    problems = []
    for detail in error.errors(include_url=False):
        key = ".".join(str(part) for part in detail["loc"])
        location = f"worker.{key} (${ENV_PREFIX}{key.upper()} or the config file)"
        message = detail["msg"].removeprefix("Value error, ")
        problems.append(ConfigProblem(location, render(detail.get("input")), message))
    return problems
