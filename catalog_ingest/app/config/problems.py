"""Every configuration mistake as one line: ``<location>: <value> - <message>``.

Locations use the keys as written (``providers[0].options.burstLength``); an unknown key's
message names the allowed keys, spelled like it. Values of secret keys are never rendered, only
``***``; URL passwords are masked and every secret found in the input is hidden from the text.
"""

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from catalog_ingest.app.config.schema import (
    DUPLICATE_NAMES,
    OPENCHOREO_PROVIDER,
    AppConfig,
    LocPart,
    NestedIssue,
    NestedValueError,
    duplicate_names,
)
from catalog_ingest.contracts.errors import UserError
from catalog_ingest.engine.redaction import (
    REDACTED,
    Redactor,
    is_secret_key,
    mask_url_password,
    secret_values,
)

MISSING = "(missing)"
_MAX_VALUE_CHARS = 60


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


def validation_problems(
    error: ValidationError, data: Mapping[str, Any], overridden: Mapping[str, str]
) -> list[ConfigProblem]:
    """The problems of validating ``data`` as an :class:`AppConfig`.

    ``overridden`` maps the top-level keys that came from the environment to their variable,
    named in the location: ``log_level (from $INGEST_LOG_LEVEL)``.
    """
    redactor = Redactor(secret_values(data))
    problems = [
        problem
        for details in error.errors(include_url=False)
        for problem in _problems_of(details, redactor, overridden)
    ]
    duplicates = _raw_duplicate_names_problem(data)
    if duplicates is not None and duplicates not in problems:
        problems.append(duplicates)
    return problems


def _problems_of(
    error: ErrorDetails, redactor: Redactor, overridden: Mapping[str, str]
) -> list[ConfigProblem]:
    context = error.get("ctx") or {}
    if error["type"] == DUPLICATE_NAMES:
        message = redactor.hide_secrets(error["msg"])
        return [ConfigProblem("providers", str(context["names"]), message)]
    loc: tuple[LocPart, ...] = tuple(error["loc"])
    nested = context.get("error")
    if isinstance(nested, NestedValueError):
        return [_nested_problem(loc, issue, nested.model, redactor) for issue in nested.issues]
    location = format_location(loc)
    if loc and loc[0] in overridden:
        location += f" (from ${overridden[str(loc[0])]})"
    rendered = MISSING if error["type"] == "missing" else render_at(error["input"], loc)
    message = _message(error["type"], error["msg"], loc, AppConfig)
    return [
        ConfigProblem(location, redactor.hide_secrets(rendered), redactor.hide_secrets(message))
    ]


def _nested_problem(
    outer: tuple[LocPart, ...],
    issue: NestedIssue,
    model: type[BaseModel] | None,
    redactor: Redactor,
) -> ConfigProblem:
    """A problem found inside a value (e.g. provider settings), located at the exact key."""
    loc = (*outer, *issue.location)
    rendered = render_at(issue.value, loc)
    message = _message(issue.error_type, issue.message, issue.location, model)
    return ConfigProblem(
        format_location(loc), redactor.hide_secrets(rendered), redactor.hide_secrets(message)
    )


def _message(
    error_type: str, text: str, loc: tuple[LocPart, ...], model: type[BaseModel] | None
) -> str:
    """Pydantic's message without its prefixes; unknown keys get the allowed ones of ``model``."""
    if error_type == "extra_forbidden" and loc and isinstance(loc[-1], str):
        return _unknown_key_message(loc[-1], _model_at(loc[:-1], model))
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return text


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


def _model_at(loc: Sequence[LocPart], root: type[BaseModel] | None) -> type[BaseModel] | None:
    """The model validating the mapping at ``loc`` below ``root`` (list indexes skipped)."""
    model = root
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
    sources = [
        (item["name"], f"{section}[{index}]")
        for section in ("providers", "sources")
        for index, item in enumerate(_list_at(data, section))
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    ]
    if data.get(OPENCHOREO_PROVIDER) is not None:
        sources.append((OPENCHOREO_PROVIDER, "the openchoreo block"))
    duplicates = duplicate_names(sources)
    return None if duplicates is None else ConfigProblem("providers", *duplicates)


def _list_at(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def format_location(loc: Sequence[LocPart]) -> str:
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


def render_at(value: Any, loc: Sequence[LocPart]) -> str:
    """A short rendering of ``value``, or ``***`` when it sits below a secret key."""
    if any(is_secret_key(part) for part in loc):
        return REDACTED
    return render(value)


def render(value: Any) -> str:
    """A YAML-ish rendering of ``value``, cut to one short line."""
    text = _render_full(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def _render_full(value: Any) -> str:
    """Secret keys' values and URL passwords are masked at any depth."""
    if isinstance(value, Mapping):
        items = (
            f"{key}: {REDACTED if is_secret_key(key) else _render_full(item)}"
            for key, item in value.items()
        )
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render_full(item) for item in value) + "]"
    if isinstance(value, str):
        return repr(mask_url_password(value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, int | float) else str(value)
