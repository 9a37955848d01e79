"""Application configuration: one YAML file, ``${ENV}`` expansion and environment overrides.

The file holds the database and Redis URLs, the log level, a list of ``providers`` and, optionally,
the reference Backstage ``openchoreo:`` block copied verbatim (camelCase keys), which becomes a
provider named ``openchoreo``. Keys are accepted in snake_case and in camelCase everywhere.

Loading never stops at the first mistake: :func:`load_config` raises a :class:`ConfigError` whose
``problems`` list every problem, each rendered on one line as ``<location>: <value> - <message>``.
Values of secret keys (tokens, passwords...) are never rendered, only ``***``.
"""

import difflib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import unquote, urlsplit

import yaml
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
from pydantic_core import ErrorDetails, PydanticCustomError

from catalog_ingest.contracts.errors import IngestError, UnknownProviderError, UserError
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings

DEFAULT_DATABASE_URL = "sqlite:///ingest.db"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CONFIG_PATH_ENV = "INGEST_CONFIG"
ENV_OVERRIDES: Mapping[str, str] = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "log_level": "INGEST_LOG_LEVEL",
    "log_format": "INGEST_LOG_FORMAT",
}
"""AppConfig field -> environment variable whose (non-empty) value replaces the file's value."""

OPENCHOREO_PROVIDER = "openchoreo"
MISSING = "(missing)"
MASK = "***"

ProviderType = Literal["synthetic", "openchoreo"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["console", "json"]
ProviderName = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
]
LocPart = str | int

_SECRET_KEY = re.compile(r"token|passw|secret|credential|api_?key|private_?key", re.IGNORECASE)
"""Keys whose values are secrets: never rendered, and listed by :meth:`AppConfig.secrets`.

A superset of the documented token/password/secret so that ``passwd`` or ``apiKey`` are safe too.
"""
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^/@\s]+@")
_ENV_REFERENCE = re.compile(
    r"\$\$\{"  # escaped: $${X} is the literal ${X}
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
    r"|\$\{"  # anything else starting with ${ is malformed
)
_DUPLICATE_NAMES = "duplicate_provider_names"
_MAX_VALUE_CHARS = 60
_MIN_BACKSTOP_SECRET_CHARS = 4


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the configuration, in terms the person who wrote it understands."""

    location: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.value} - {self.message}"


class ConfigError(UserError):
    """The configuration cannot be used; ``problems`` says everything that is wrong with it."""

    def __init__(self, problems: Sequence[ConfigProblem], summary: str | None = None) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        if summary is None:
            count = len(self.problems)
            lines = [f"invalid configuration ({count} problem{'s' if count != 1 else ''}):"]
            summary = "\n  ".join(lines + [str(problem) for problem in self.problems])
        super().__init__(summary)


class _NestedValueError(IngestError, ValueError):
    """A validation error about a value *inside* the validated one.

    Pydantic locates a validator's error at the validated field; ``location_suffix`` lets
    :func:`_problem_from_error` point at the exact key instead.
    """

    def __init__(self, location_suffix: tuple[LocPart, ...], value: Any, message: str) -> None:
        super().__init__(message)
        self.location_suffix = location_suffix
        self.value = value


def _reject_non_numeric_duration_amounts(value: Any) -> Any:
    """Report ``{minutes: null}``-style durations as validation errors.

    ProviderOptions converts HumanDuration objects with ``float()``, which raises ``TypeError``
    for null, list or mapping amounts; pydantic does not turn a ``TypeError`` into a validation
    error, so without this check such a file would crash the loader instead of being reported.
    Only duration fields accept mappings (or lists of them), so every mapping found is checked.
    """
    if not isinstance(value, Mapping):
        return value
    for key, item in value.items():
        for where, duration in _duration_objects(item):
            for unit, amount in duration.items():
                if not isinstance(amount, int | float | str):
                    raise _NestedValueError(
                        (key, *where, unit),
                        amount,
                        f"a duration amount must be a number, not {_kind(amount)}",
                    )
    return value


def _duration_objects(item: Any) -> Iterator[tuple[tuple[int, ...], Mapping[Any, Any]]]:
    if isinstance(item, Mapping):
        yield (), item
    elif isinstance(item, list | tuple):
        for index, element in enumerate(item):
            if isinstance(element, Mapping):
                yield (index,), element


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


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
        description="Provider-specific, e.g. synthetic: entities, page_size, seed.",
    )
    priority: int = 0

    @field_validator("options", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _reject_non_numeric_duration_amounts(value)

    @field_validator("settings")
    @classmethod
    def _settings_of_the_type(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """OpenChoreo settings are checked here, so ``check-config`` reports them."""
        if info.data.get("type") == "openchoreo":
            try:
                OpenChoreoSettings.model_validate(value)
            except ValidationError as error:
                first = error.errors(include_url=False)[0]
                message = first["msg"].removeprefix("Value error, ")
                raise _NestedValueError(tuple(first["loc"]), first.get("input"), message) from None
        return value


class OpenChoreoBlock(OpenChoreoSettings):
    """The reference Backstage ``openchoreo:`` app-config block, accepted verbatim.

    Its keys are the OpenChoreo provider's settings plus ``incremental`` (the options).
    """

    incremental: ProviderOptions = ProviderOptions()

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
        problem = _duplicate_names_problem(sources)
        if problem is not None:
            raise PydanticCustomError(
                _DUPLICATE_NAMES, "{detail}", {"detail": problem.message, "names": problem.value}
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
            found.extend(_url_passwords(self.openchoreo.base_url))
        for provider in self.providers:
            found.extend(_secret_values(provider.settings))
        found.extend(_url_passwords(self.database_url))
        found.extend(_url_passwords(self.redis_url))
        return list(dict.fromkeys(secret for secret in found if secret))


def _duplicate_names_problem(sources: Sequence[tuple[str, str]]) -> ConfigProblem | None:
    """One problem naming every provider name used more than once, and where it is used."""
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
    return ConfigProblem("providers", names, f"provider names must be unique: {details}")


def _is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def _secret_values(value: Any, under_secret_key: bool = False) -> Iterator[str]:
    """Scalars below secret keys (``password: 1234`` is a secret too), and URL passwords."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _secret_values(item, under_secret_key or _is_secret_key(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_values(item, under_secret_key)
    elif under_secret_key and value is not None and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, str):
        yield from _url_passwords(value)


def _url_passwords(url: str) -> list[str]:
    """The password of ``scheme://user:password@host``, as written and percent-decoded."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


# --------------------------------------------------------------------------- environment


def expand_env(
    value: Any, environ: Mapping[str, str] | None = None
) -> tuple[Any, list[ConfigProblem]]:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string of parsed YAML.

    Returns the expanded copy and the problems found: an unset variable without a default (it
    expands to ``""``) or a malformed ``${...}``. As in the shell, ``:-`` also applies to a
    variable set to the empty string. ``$${X}`` is the literal ``${X}``. Keys are not expanded.
    """
    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []
    return _expand(value, env, (), problems), problems


def _expand(
    value: Any, env: Mapping[str, str], loc: tuple[LocPart, ...], problems: list[ConfigProblem]
) -> Any:
    if isinstance(value, Mapping):
        return {key: _expand(item, env, (*loc, key), problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, env, (*loc, index), problems) for index, item in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _expand_string(value, env, loc, problems)
    return value


def _expand_string(
    text: str, env: Mapping[str, str], loc: tuple[LocPart, ...], problems: list[ConfigProblem]
) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if match.group(0) == "$${":
            return "${"
        if name is None:
            message = "malformed variable reference; write ${NAME} or ${NAME:-default}"
        elif default is not None:
            return env.get(name) or default
        elif name in env:
            return env[name]
        else:
            message = f"environment variable {name} is not set and has no default"
            message += f" (write ${{{name}:-default}} to give one)"
        problems.append(ConfigProblem(_format_location(loc), _render_at(text, loc), message))
        return ""

    return _ENV_REFERENCE.sub(replace, text)


def _apply_overrides(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with DATABASE_URL, REDIS_URL and INGEST_LOG_LEVEL (when non-empty) applied."""
    result = dict(data)
    for field, variable in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value:
            result.pop(to_camel(field), None)
            result[field] = value
    return result


# --------------------------------------------------------------------------- loading


def load_config(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> AppConfig:
    """Read, expand and validate the configuration; :class:`ConfigError` lists every problem.

    Without ``path``, the file named by ``INGEST_CONFIG`` is read, or none at all (defaults plus
    environment overrides). ``environ`` defaults to :data:`os.environ`.
    """
    env = os.environ if environ is None else environ
    source = _config_path(path, env)
    raw = _read_yaml(source) if source is not None else {}
    expanded, problems = expand_env(raw, env)
    data = _apply_overrides(expanded, env)
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = _merge(problems, _validation_problems(exc, data, env))
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def check_config(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Every problem of the configuration :func:`load_config` would load; empty when valid."""
    try:
        load_config(path, environ)
    except ConfigError as exc:
        return exc.problems
    return []


def _config_path(path: Path | str | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    named = env.get(CONFIG_PATH_ENV)
    return Path(named) if named else None


def _read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping (``{}`` when empty); file problems become a ConfigError."""
    location = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(location, MISSING, "config file not found")]) from None
    except UnicodeDecodeError as exc:
        message = f"config file is not UTF-8 text (byte {exc.start})"
        raise ConfigError([ConfigProblem(location, "(unreadable)", message)]) from None
    except OSError as exc:
        message = f"cannot read config file: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem(location, "(unreadable)", message)]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(location, exc)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        message = f"the top level must be a mapping of keys to values, not {_kind(data)}"
        raise ConfigError([ConfigProblem(location, _render(data), message)])
    return data


def _yaml_problem(location: str, exc: yaml.YAMLError) -> ConfigProblem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ConfigProblem(location, "(invalid YAML)", f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    if mark is not None:
        location = f"{location}:{mark.line + 1}:{mark.column + 1}"
    message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
    if exc.problem and exc.context:
        message += f" ({exc.context})"
    return ConfigProblem(location, "(invalid YAML)", message)


def _merge(
    env_problems: list[ConfigProblem], validation_problems: list[ConfigProblem]
) -> list[ConfigProblem]:
    """Drop validation problems caused by a failed ``${...}`` expansion at the same place."""
    expanded_at = {problem.location for problem in env_problems}
    kept = [problem for problem in validation_problems if problem.location not in expanded_at]
    return env_problems + kept


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class _Redactor:
    """Hides known secret strings wherever they appear, beyond the key-based masking."""

    secrets: tuple[str, ...]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def _validation_problems(
    exc: ValidationError, data: Mapping[str, Any], env: Mapping[str, str]
) -> list[ConfigProblem]:
    secrets = sorted(set(_secret_values(data)), key=len, reverse=True)
    redact = _Redactor(tuple(s for s in secrets if len(s) >= _MIN_BACKSTOP_SECRET_CHARS))
    overridden = {field: var for field, var in ENV_OVERRIDES.items() if env.get(var)}
    problems = [
        _problem_from_error(error, redact, overridden) for error in exc.errors(include_url=False)
    ]
    duplicates = _raw_duplicate_names_problem(data)
    if duplicates is not None and duplicates not in problems:
        problems.append(duplicates)
    return problems


def _problem_from_error(
    error: ErrorDetails, redact: _Redactor, overridden: Mapping[str, str]
) -> ConfigProblem:
    context = error.get("ctx") or {}
    if error["type"] == _DUPLICATE_NAMES:
        return ConfigProblem("providers", str(context["names"]), redact(error["msg"]))
    loc: tuple[LocPart, ...] = tuple(error["loc"])
    value = error["input"]
    nested = context.get("error")
    if isinstance(nested, _NestedValueError):
        loc, value = (*loc, *nested.location_suffix), nested.value
    location = _format_location(loc)
    if loc and loc[0] in overridden:
        location += f" (from ${overridden[str(loc[0])]})"
    rendered = MISSING if error["type"] == "missing" else _render_at(value, loc)
    return ConfigProblem(location, redact(rendered), redact(_message(error, loc)))


def _message(error: ErrorDetails, loc: tuple[LocPart, ...]) -> str:
    if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        return _unknown_key_message(loc[-1], _model_at(loc[:-1]))
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _unknown_key_message(key: str, model: type[BaseModel] | None) -> str:
    """Name the allowed keys, spelled like the unknown one (snake_case or camelCase)."""
    if model is None:
        return "unknown key"
    names = list(model.model_fields)
    allowed = names if "_" in key else [to_camel(name) for name in names]
    message = "unknown key"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return f"{message}; allowed: {', '.join(allowed)}"


def _model_at(loc: Sequence[LocPart]) -> type[BaseModel] | None:
    """The model validating the mapping at ``loc`` (list indexes skipped), if any."""
    model: type[BaseModel] | None = AppConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        fields = {to_camel(name): info for name, info in model.model_fields.items()}
        fields.update(model.model_fields)
        info = fields.get(part)
        model = _model_in(info.annotation) if info is not None else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``list[X]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        model = _model_in(argument)
        if model is not None:
            return model
    return None


def _raw_duplicate_names_problem(data: Mapping[str, Any]) -> ConfigProblem | None:
    """Duplicate names in unvalidated input: the model validator only runs on valid input."""
    providers = data.get("providers")
    sources = [
        (item["name"], f"providers[{index}]")
        for index, item in enumerate(providers if isinstance(providers, list) else [])
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    ]
    if data.get(OPENCHOREO_PROVIDER) is not None:
        sources.append((OPENCHOREO_PROVIDER, "the openchoreo block"))
    return _duplicate_names_problem(sources)


def _format_location(loc: Sequence[LocPart]) -> str:
    """``providers[0].options.burstLength``; pydantic's loc already uses the key as written."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith("["):
            text += part
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def _render_at(value: Any, loc: Sequence[LocPart]) -> str:
    """A short rendering of ``value``, or ``***`` when it sits below a secret key."""
    if any(_is_secret_key(part) for part in loc):
        return MASK
    return _render(value)


def _render(value: Any) -> str:
    text = _render_full(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def _render_full(value: Any) -> str:
    """YAML-ish rendering; secret keys' values and URL passwords are masked at any depth."""
    if isinstance(value, Mapping):
        items = (
            f"{key}: {MASK if _is_secret_key(key) else _render_full(item)}"
            for key, item in value.items()
        )
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render_full(item) for item in value) + "]"
    if isinstance(value, str):
        return repr(_URL_PASSWORD.sub(rf"\g<head>{MASK}@", value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, int | float) else str(value)
