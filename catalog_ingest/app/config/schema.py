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

from catalog_ingest.app.config.reference_block import without_reference_only_keys
from catalog_ingest.app.config.urls import check_database_url, check_redis_url
from catalog_ingest.app.logging_setup import LogFormat
from catalog_ingest.contracts.errors import IngestError, UnknownProviderError
from catalog_ingest.engine.options import ProviderOptions, reject_booleans
from catalog_ingest.engine.redaction import secret_values, url_passwords
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.providers.synthetic import SyntheticSettings

DEFAULT_DATABASE_URL = "sqlite:///ingest.db"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
OPENCHOREO_PROVIDER = "openchoreo"
DUPLICATE_NAMES = "duplicate_provider_names"
"""The pydantic error type of :meth:`AppConfig._unique_provider_names`."""

ProviderType = Literal["synthetic", "openchoreo"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

ProviderName = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
]
LocPart = str | int

SETTINGS_MODELS: Mapping[str, type[BaseModel]] = {
    "synthetic": SyntheticSettings,
    "openchoreo": OpenChoreoSettings,
}
"""Provider type -> the model its ``settings`` must satisfy."""


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


class ProviderConfig(_Model):
    """One configured provider: what it is, how it is paced, and its own settings."""

    name: ProviderName
    type: ProviderType
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

    @field_validator("settings")
    @classmethod
    def _settings_of_the_type(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Checked against the type's settings model here, so ``check-config`` reports them."""
        model = SETTINGS_MODELS.get(info.data.get("type", ""))
        if model is not None:
            try:
                model.model_validate(value)
            except ValidationError as error:
                raise NestedValueError.of(error, model) from None
        return value


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
    openchoreo: OpenChoreoBlock | None = None
    log_level: LogLevel = "INFO"
    log_format: LogFormat = Field(
        "console", description="console: one readable line per event; json: one JSON object."
    )
    worker: WorkerSection = Field(
        default_factory=WorkerSection, description="Read by the workers (WorkerSettings)."
    )

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _usable_redis_url(cls, value: str) -> str:
        return check_redis_url(value)

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
        """The ``providers`` list, then the provider of the ``openchoreo`` block if present."""
        providers = list(self.providers)
        if self.openchoreo is not None:
            providers.append(self.openchoreo.as_provider())
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
        for url in (self.database_url, self.redis_url, self.worker.broker_url):
            found.extend(url_passwords(url))
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
