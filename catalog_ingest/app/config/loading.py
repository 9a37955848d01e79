"""Loading the configuration: the YAML file, the environment, and pydantic-settings' sources.

The application config and the workers' settings (``workers.worker_settings.WorkerSettings``)
load the same way, as :class:`ConfigFileSettings`: pydantic-settings merges, highest priority
first,

1. init kwargs (the caller's overrides),
2. the environment: ``DATABASE_URL``, ``REDIS_URL``, ``INGEST_LOG_LEVEL`` and
   ``INGEST_LOG_FORMAT`` for the application (:data:`ENV_OVERRIDES`, no other variable), and
   ``INGEST_<NAME>`` for the workers; an empty variable overrides nothing,
3. the YAML file named by the caller or ``INGEST_CONFIG``, ``${VAR}``-expanded: the whole file
   for the application, its ``worker:`` section for the workers.

The application's settings class only assembles that input; :class:`AppConfig` validates it, so
that :func:`load_config` reports every problem at once, located as it was written.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic.alias_generators import to_camel, to_snake
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from catalog_ingest.app.config.config_file import ConfigFile
from catalog_ingest.app.config.problems import (
    ConfigError,
    ConfigProblem,
    validation_problems,
)
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.app.config.warnings import config_warnings

ENV_OVERRIDES: Mapping[str, str] = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "log_level": "INGEST_LOG_LEVEL",
    "log_format": "INGEST_LOG_FORMAT",
}
"""AppConfig key -> environment variable whose (non-empty) value replaces the file's value."""


_being_loaded: ContextVar[ConfigFile | None] = ContextVar("config_file", default=None)


@contextmanager
def reading(file: ConfigFile) -> Iterator[ConfigFile]:
    """Settings built in this block read ``file`` and its environment.

    Outside, they read the file ``INGEST_CONFIG`` names and :data:`os.environ`.
    pydantic-settings builds sources in a classmethod, without the caller's arguments; this
    is how a caller's path and environment reach them.
    """
    token = _being_loaded.set(file)
    try:
        yield file
    finally:
        _being_loaded.reset(token)


def current_config_file() -> ConfigFile:
    """The file of the enclosing :func:`reading` block, else ``INGEST_CONFIG``'s."""
    return _being_loaded.get() or ConfigFile.named()


class ConfigFileSource(PydanticBaseSettingsSource):
    """The config file, or one section of it, as a pydantic-settings source (lowest priority).

    Keys are kept as written, except camelCase spellings of the settings class's own fields,
    which become the field names. A key a higher-priority source already supplied under its
    other spelling (``databaseUrl`` / ``database_url``) is dropped: the higher source wins. The
    expansion's problems are not raised here; :func:`load_config` reports them.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], file: ConfigFile, section: str | None = None
    ) -> None:
        super().__init__(settings_cls)
        self.file = file
        self.section = section

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` returns the mapping at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = self._mapping()
        camel = {to_camel(name): name for name in self.settings_cls.model_fields}
        named = {camel.get(key, key): value for key, value in data.items()}
        return {k: v for k, v in named.items() if not _spelled_otherwise(k, self.current_state)}

    def _mapping(self) -> Mapping[str, Any]:
        """The file, or its section; ``{}`` for a section that is not a mapping (AppConfig
        reports it)."""
        data = self.file.contents[0]
        if self.section is None:
            return data
        section = data.get(self.section)
        return section if isinstance(section, Mapping) else {}


class EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading ``environ`` instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            name if self.case_sensitive else name.lower(): value
            for name, value in self.environ.items()
            if not (self.env_ignore_empty and value == "")
        }


class NamedVariablesSource(EnvironSource):
    """Exactly the variables of ``names`` (key -> VARIABLE); no other variable is read."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        environ: Mapping[str, str],
        names: Mapping[str, str],
    ) -> None:
        self.names = names
        super().__init__(settings_cls, environ)

    def __call__(self) -> dict[str, Any]:
        return {
            key: self.env_vars[variable]
            for key, variable in self.names.items()
            if self.env_vars.get(variable) is not None
            and not _spelled_otherwise(key, self.current_state)
        }


def _spelled_otherwise(key: Any, supplied: Mapping[str, Any]) -> bool:
    """Whether a higher-priority source ``supplied`` ``key`` in its other spelling.

    pydantic would reject both spellings at once; the higher source's value must win.
    """
    if not isinstance(key, str):
        return False
    other = to_snake(key) if to_snake(key) != key else to_camel(key)
    return other != key and other in supplied


class ConfigFileSettings(BaseSettings):
    """Settings from init kwargs, then the environment, then the config file.

    ``config_section`` names the file's section (None: the whole file); the environment source
    is :meth:`environment_source`, by default ``<env_prefix><FIELD>`` as pydantic-settings names
    them. Both read what the enclosing :func:`reading` block gives, else ``INGEST_CONFIG``'s
    file and os.environ.
    """

    config_section: ClassVar[str | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file = current_config_file()
        return (
            init_settings,
            cls.environment_source(settings_cls, file.environ),
            ConfigFileSource(settings_cls, file, cls.config_section),
        )

    @classmethod
    def environment_source(
        cls, settings_cls: type[BaseSettings], environ: Mapping[str, str]
    ) -> PydanticBaseSettingsSource:
        return EnvironSource(settings_cls, environ)


class AppSettings(ConfigFileSettings):
    """The application config's input as the sources give it; :class:`AppConfig` validates it.

    No fields and ``extra="allow"``: every key is kept as written, unknown ones included, so
    that validation reports them at their place.
    """

    model_config = SettingsConfigDict(extra="allow", case_sensitive=True, env_ignore_empty=True)

    @classmethod
    def environment_source(
        cls, settings_cls: type[BaseSettings], environ: Mapping[str, str]
    ) -> PydanticBaseSettingsSource:
        return NamedVariablesSource(settings_cls, environ, ENV_OVERRIDES)


def load_config(
    path: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Read, expand and validate the configuration; :class:`ConfigError` lists every problem.

    Without ``path``, the file named by ``INGEST_CONFIG`` is read, or none at all (defaults plus
    environment overrides). ``environ`` defaults to :data:`os.environ`; ``overrides`` (keys as
    in the file) beat both.
    """
    return _load(path, environ, overrides or {})[0]


@dataclass(frozen=True, slots=True)
class ConfigReport:
    """What ``check-config`` says: problems (invalid) and warnings (valid, worth a word)."""

    problems: list[ConfigProblem]
    warnings: list[ConfigProblem]


def check_config_report(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> ConfigReport:
    """Every problem of the configuration, or (when valid) its warnings."""
    try:
        config, data = _load(path, environ, {})
    except ConfigError as exc:
        return ConfigReport(exc.problems, [])
    return ConfigReport([], config_warnings(data, config))


def _load(
    path: Path | str | None, environ: Mapping[str, str] | None, overrides: Mapping[str, Any]
) -> tuple[AppConfig, Mapping[str, Any]]:
    """The validated configuration and its input as written (expanded)."""
    with reading(ConfigFile.named(path, environ)) as file:
        data = AppSettings(**overrides).model_extra or {}
    expansion_problems = file.contents[1]
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        overridden = _from_environment(file.environ, overrides)
        problems = validation_problems(exc, data, overridden)
        raise ConfigError(_merge(expansion_problems, problems)) from None
    if expansion_problems:
        raise ConfigError(expansion_problems)
    return config, data


def check_config(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Every problem of the configuration :func:`load_config` would load; empty when valid."""
    try:
        load_config(path, environ)
    except ConfigError as exc:
        return exc.problems
    return []


def _from_environment(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, str]:
    """Key -> variable, for the keys whose value came from the environment."""
    return {
        key: variable
        for key, variable in ENV_OVERRIDES.items()
        if environ.get(variable) and key not in overrides and to_camel(key) not in overrides
    }


def _merge(
    env_problems: list[ConfigProblem], validation_problems: list[ConfigProblem]
) -> list[ConfigProblem]:
    """Drop validation problems caused by a failed ``${...}`` expansion at the same place."""
    expanded_at = {problem.location for problem in env_problems}
    kept = [problem for problem in validation_problems if problem.location not in expanded_at]
    return env_problems + kept
