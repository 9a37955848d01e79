"""What a valid configuration is: the pydantic models, their defaults and cross-field rules.

The file holds the database and Redis URLs, logging, a list of ``providers``, optionally the
reference Backstage ``openchoreo:`` block copied verbatim (camelCase keys), which becomes a
provider named ``openchoreo``, and optionally a ``worker:`` section (the Celery workers'
settings). Keys are accepted in snake_case and in camelCase everywhere.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from catalog_ingest.app.config.api_section import ApiSection
from catalog_ingest.app.config.reference_block import without_reference_only_keys
from catalog_ingest.app.config.refresh_schedule import DEFAULT_SCHEDULE_SECONDS, schedule_seconds
from catalog_ingest.app.config.urls import check_database_url, check_redis_url
from catalog_ingest.app.logging_setup import LogFormat
from catalog_ingest.contracts.errors import IngestError, UnknownProviderError
from catalog_ingest.engine.options import ProviderOptions, reject_booleans
from catalog_ingest.engine.redaction import secret_values, url_passwords
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.providers.sources.file_settings import FileSourceSettings
from catalog_ingest.providers.sources.push_settings import PushSourceSettings
from catalog_ingest.providers.sources.settings_base import SourceSettingsModel
from catalog_ingest.providers.sources.url_settings import UrlSourceSettings
from catalog_ingest.providers.synthetic import SyntheticSettings

DEFAULT_DATABASE_URL = "sqlite:///ingest.db"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
OPENCHOREO_PROVIDER = "openchoreo"
DUPLICATE_NAMES = "duplicate_provider_names"
"""The pydantic error type of :meth:`AppConfig._unique_provider_names`."""

ProviderType = Literal["synthetic", "openchoreo"]
SourceType = Literal["file", "url", "push"]
"""Aggregator-only sources (``sources:``), run as providers of these types."""
PASSIVE_TYPES = frozenset({"push"})
"""Types written only from outside (pushes): never ticked into a pass, so never swept."""
MergeMode = Literal["deep", "replace"]
EngineProviderType = Literal["synthetic", "openchoreo", "file", "url", "push"]
"""What the engine runs: a provider's or a source's type."""
PROVIDER_TYPES_ALLOWED = " or ".join(repr(name) for name in get_args(ProviderType))
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

ProviderName = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
]
LocPart = str | int

SETTINGS_MODELS: Mapping[str, type[BaseModel]] = {
    "synthetic": SyntheticSettings,
    "openchoreo": OpenChoreoSettings,
    "file": FileSourceSettings,
    "url": UrlSourceSettings,
    "push": PushSourceSettings,
}
"""Provider or source type -> the model its ``settings`` must satisfy."""


@dataclass(frozen=True, slots=True)
class NestedIssue:
    """One problem inside a validated value: where below it, the value there, what is wrong."""

    location: tuple[LocPart, ...]
    value: Any
    message: str
    error_type: str = "value_error"


class NestedValueError(IngestError, ValueError):
    """Validation errors about values *inside* the validated one.

    Pydantic locates a validator's error at the validated field; ``issues`` point at the exact
    keys below it, and ``model`` (when the value is a model's input) names its allowed keys.
    """

    def __init__(self, issues: Sequence[NestedIssue], model: type[BaseModel] | None = None):
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = list(issues)
        self.model = model

    @classmethod
    def of(cls, error: ValidationError, model: type[BaseModel]) -> "NestedValueError":
        """Every error of validating ``model``'s input, located below the validated value."""
        issues = [
            NestedIssue(tuple(detail["loc"]), detail.get("input"), detail["msg"], detail["type"])
            for detail in error.errors(include_url=False)
        ]
        return cls(issues, model)


def kind_of(value: Any) -> str:
    """``null``, ``a mapping``, ``a list`` or the type's name, for messages."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _reject_non_numeric_duration_amounts(value: Any) -> Any:
    """Report ``{minutes: null}``-style durations as validation errors.

    ProviderOptions converts HumanDuration objects with ``float()``, which raises ``TypeError``
    for null, list or mapping amounts; pydantic does not turn a ``TypeError`` into a validation
    error, so without this check such a file would crash the loader instead of being reported.
    Only duration fields accept mappings (or lists of them), so every mapping found is checked.
    """
    if not isinstance(value, Mapping):
        return value
    issues = [
        NestedIssue(
            (key, *where, unit),
            amount,
            f"a duration amount must be a number, not {kind_of(amount)}",
        )
        for key, item in value.items()
        for where, duration in _duration_objects(item)
        for unit, amount in duration.items()
        if not isinstance(amount, int | float | str)
    ]
    if issues:
        raise NestedValueError(issues)
    return value


def _duration_objects(item: Any) -> Iterator[tuple[tuple[int, ...], Mapping[Any, Any]]]:
    if isinstance(item, Mapping):
        yield (), item
    elif isinstance(item, list | tuple):
        for index, element in enumerate(item):
            if isinstance(element, Mapping):
                yield (index,), element


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _check_settings(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """Checked against the type's settings model, so ``check-config`` reports them."""
    model = SETTINGS_MODELS.get(info.data.get("type", ""))
    if model is not None:
        try:
            model.model_validate(value)
        except ValidationError as error:
            raise NestedValueError.of(error, model) from None
    return value


class ProviderConfig(_Model):
    """One provider as the engine runs it: a ``providers`` entry, the ``openchoreo`` block or
    a source (:meth:`SourceConfig.as_provider`)."""

    name: ProviderName
    type: EngineProviderType
    options: ProviderOptions = ProviderOptions()
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider-specific, validated by the type's model (SETTINGS_MODELS).",
    )
    priority: int = 0

    @field_validator("options", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _reject_non_numeric_duration_amounts(value)

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        """Names the provider types only: sources are written under ``sources``."""
        if value not in get_args(EngineProviderType):
            raise PydanticCustomError("literal_error", f"Input should be {PROVIDER_TYPES_ALLOWED}")
        return value

    @field_validator("settings")
    @classmethod
    def _settings_of_the_type(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_settings(value, info)

    @property
    def scheduled(self) -> bool:
        """Whether beat ticks it into passes (a push source is written from outside only)."""
        return self.type not in PASSIVE_TYPES


_SET_BY_THE_SOURCE = {
    "rest_length": "a source's schedule sets it",
    "ttl_seconds": "a source's ttl_seconds sets it",
    "merge": "a source's merge sets it",
}
"""Options a source sets from its own keys (one place to write each)."""


class SourceConfig(_Model):
    """One aggregator-only source (``sources`` entry), run as a provider of its type.

    ``schedule`` becomes the rest after a complete refresh (``options.rest_length``);
    ``ttl_seconds`` and ``merge`` go to the options the aggregation reads them from.
    """

    name: ProviderName
    type: SourceType
    priority: int = 0
    schedule: float = Field(
        DEFAULT_SCHEDULE_SECONDS,
        description="Seconds (or 90s, 15m, 2h, 1d) between the end of a refresh and the next.",
    )
    ttl_seconds: int | None = Field(
        None, ge=1, le=10 * 365 * 86400, description="A record expires this long after its refresh."
    )
    merge: MergeMode = "deep"
    settings: dict[str, Any] = Field(default_factory=dict)
    options: ProviderOptions = ProviderOptions()

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> float:
        return schedule_seconds(value)

    @field_validator("ttl_seconds", mode="before")
    @classmethod
    def _ttl_not_boolean(cls, value: Any) -> Any:
        return reject_booleans(value)

    @field_validator("options", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _reject_non_numeric_duration_amounts(value)

    @field_validator("settings")
    @classmethod
    def _settings_of_the_type(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_settings(value, info)

    @model_validator(mode="after")
    def _schedule_not_twice(self) -> "SourceConfig":
        issues = [
            NestedIssue(("options", option), getattr(self.options, option), f"{why}; remove it")
            for option, why in _SET_BY_THE_SOURCE.items()
            if option in self.options.model_fields_set
        ]
        if self.type in PASSIVE_TYPES and "schedule" in self.model_fields_set:
            message = "a push source has no refreshes; remove it"
            issues.append(NestedIssue(("schedule",), self.schedule, message))
        if issues:
            raise NestedValueError(issues)
        return self

    def settings_model(self) -> SourceSettingsModel:
        model = SETTINGS_MODELS[self.type]
        settings = model.model_validate(self.settings)
        assert isinstance(settings, SourceSettingsModel)
        return settings

    def as_provider(self) -> ProviderConfig:
        """The provider the engine runs for this source."""
        update = {
            "rest_length": self.schedule / 60,
            "ttl_seconds": self.ttl_seconds,
            "merge": self.merge,
        }
        return ProviderConfig(
            name=self.name,
            type=self.type,
            options=self.options.model_copy(update=update),
            settings=self.settings,
            priority=self.priority,
        )


class OpenChoreoBlock(OpenChoreoSettings):
    """The reference Backstage ``openchoreo:`` app-config block, accepted verbatim.

    Its keys are the OpenChoreo provider's settings plus ``incremental`` (the options); the
    official plugin's keys that mean nothing here are dropped (and warned about, see
    :mod:`.reference_block`).
    """

    incremental: ProviderOptions = ProviderOptions()

    @model_validator(mode="before")
    @classmethod
    def _drop_reference_only_keys(cls, data: Any) -> Any:
        return without_reference_only_keys(data)

    @field_validator("incremental", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _reject_non_numeric_duration_amounts(value)

    def as_provider(self) -> ProviderConfig:
        """The provider this block describes, named ``openchoreo``."""
        settings = self.model_dump(exclude={"incremental", "token"}, exclude_defaults=True)
        if self.token is not None:
            settings["token"] = self.token.get_secret_value()
        return ProviderConfig(
            name=OPENCHOREO_PROVIDER, type="openchoreo", options=self.incremental, settings=settings
        )


class WorkerFields(BaseModel):
    """The Celery workers' settings: the one definition of the ``worker:`` section's keys.

    ``workers.worker_settings.WorkerSettings`` reads them from ``INGEST_<NAME>`` and this section.
    """

    broker_url: str | None = Field(
        None, description="Celery broker; defaults to the config's redis_url."
    )
    time_limit_margin: float = Field(
        15.0, ge=1, le=600, description="Seconds between burst length, soft, hard limit, lock TTL."
    )
    visibility_timeout: int = Field(
        3600, ge=60, description="Redis transport: seconds before an unacked task is redelivered."
    )
    detail_time_limit: float = Field(
        900,
        ge=30,
        le=3000,
        description="Seconds a detail task may take (slot waits and retries included).",
    )
    details_per_task: int = Field(
        10, ge=1, le=100, description="Deferred items (detail calls) per child task."
    )
    request_slot_lease: float = Field(
        120,
        ge=5,
        le=3600,
        description="Seconds after which a request slot of a dead holder frees itself.",
    )

    @field_validator("broker_url")
    @classmethod
    def _usable_broker_url(cls, value: str | None) -> str | None:
        return None if value is None else check_redis_url(value)

    @field_validator(
        "time_limit_margin",
        "visibility_timeout",
        "detail_time_limit",
        "details_per_task",
        "request_slot_lease",
        mode="before",
    )
    @classmethod
    def _numbers_not_booleans(cls, value: Any) -> Any:
        return reject_booleans(value)


class WorkerSection(WorkerFields, _Model):
    """The ``worker:`` section as the file spells it (camelCase too; unknown keys rejected)."""


class AppConfig(_Model):
    """The whole application configuration."""

    database_url: str = Field(DEFAULT_DATABASE_URL, min_length=1)
    redis_url: str = Field(DEFAULT_REDIS_URL, min_length=1)
    providers: list[ProviderConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(
        default_factory=list, description="Aggregator-only sources: file, url, push."
    )
    openchoreo: OpenChoreoBlock | None = None
    log_level: LogLevel = "INFO"
    log_format: LogFormat = Field(
        "console", description="console: one readable line per event; json: one JSON object."
    )
    worker: WorkerSection = Field(
        default_factory=WorkerSection, description="Read by the workers (WorkerSettings)."
    )
    api: ApiSection = Field(
        default_factory=ApiSection, description="The HTTP service (`ingest serve`)."
    )
    feed_tombstone_days: float = Field(
        7,
        gt=0,
        le=3650,
        description="Days a removal stays in the change feed; a reader further behind relists.",
    )

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _usable_redis_url(cls, value: str) -> str:
        return check_redis_url(value)

    @field_validator("providers")
    @classmethod
    def _no_sources_among_providers(cls, value: list[ProviderConfig]) -> list[ProviderConfig]:
        """A source runs as a provider, but is configured under ``sources`` (its schedule)."""
        issues = [
            NestedIssue((index, "type"), provider.type, f"Input should be {PROVIDER_TYPES_ALLOWED}")
            for index, provider in enumerate(value)
            if provider.type not in get_args(ProviderType)
        ]
        if issues:
            raise NestedValueError(issues)
        return value

    @field_validator("feed_tombstone_days", mode="before")
    @classmethod
    def _days_not_boolean(cls, value: Any) -> Any:
        return reject_booleans(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: Any) -> Any:
        """Accept ``info``; anything unknown is left as written so the error shows it as is."""
        if isinstance(value, str) and value.strip().upper() in get_args(LogLevel):
            return value.strip().upper()
        return value

    @model_validator(mode="after")
    def _unique_provider_names(self) -> "AppConfig":
        sources = [(p.name, f"providers[{i}]") for i, p in enumerate(self.providers)]
        sources += [(s.name, f"sources[{i}]") for i, s in enumerate(self.sources)]
        if self.openchoreo is not None:
            sources.append((OPENCHOREO_PROVIDER, "the openchoreo block"))
        duplicates = duplicate_names(sources)
        if duplicates is not None:
            names, message = duplicates
            raise PydanticCustomError(
                DUPLICATE_NAMES, "{detail}", {"detail": message, "names": names}
            )
        return self

    def all_providers(self) -> list[ProviderConfig]:
        """The ``providers`` list, then the provider of the ``openchoreo`` block if present,
        then the ``sources`` (each as the provider that runs it)."""
        providers: list[ProviderConfig] = list(self.providers)
        if self.openchoreo is not None:
            providers.append(self.openchoreo.as_provider())
        providers.extend(source.as_provider() for source in self.sources)
        return providers

    def provider(self, name: str) -> ProviderConfig:
        """The provider called ``name``; :class:`UnknownProviderError` if there is none."""
        providers = self.all_providers()
        for provider in providers:
            if provider.name == name:
                return provider
        raise UnknownProviderError(name, [provider.name for provider in providers])

    def secrets(self) -> list[str]:
        """Every non-empty secret string configured, for redacting logs and error messages.

        The openchoreo token, provider ``settings`` values under secret-looking keys (token,
        password, secret... at any depth) and passwords embedded in the configured URLs.
        """
        found: list[str] = []
        if self.openchoreo is not None:
            if self.openchoreo.token is not None:
                found.append(self.openchoreo.token.get_secret_value())
            found.extend(url_passwords(self.openchoreo.base_url))
        for provider in self.providers:
            found.extend(secret_values(provider.settings))
        for source in self.sources:
            found.extend(secret_values(source.settings))
            found.extend(source.settings_model().secrets())
        for url in (self.database_url, self.redis_url, self.worker.broker_url):
            found.extend(url_passwords(url))
        found.extend(self.api.secrets())
        return list(dict.fromkeys(secret for secret in found if secret))


def duplicate_names(sources: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The provider names used more than once and a message saying where, if any.

    ``sources`` pairs each name with where it is used (``providers[0]``...).
    """
    where: dict[str, list[str]] = {}
    for name, source in sources:
        where.setdefault(name, []).append(source)
    duplicates = {name: used for name, used in where.items() if len(used) > 1}
    if not duplicates:
        return None
    details = "; ".join(
        f"{name!r} is used by {', '.join(used[:-1])} and {used[-1]}"
        for name, used in duplicates.items()
    )
    names = ", ".join(repr(name) for name in duplicates)
    return names, f"provider names must be unique: {details}"
