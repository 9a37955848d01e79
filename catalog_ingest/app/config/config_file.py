"""The configuration file: which one (a path, or the one ``INGEST_CONFIG`` names), read once,
parsed as YAML and ``${VAR}``-expanded; every way it can be unusable is one problem line."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from catalog_ingest.app.config.env_expansion import expand_env
from catalog_ingest.app.config.problems import MISSING, ConfigError, ConfigProblem, render
from catalog_ingest.app.config.schema import kind_of
from catalog_ingest.formats.bounded_yaml import YamlLimitError, load_bounded_yaml

CONFIG_PATH_ENV = "INGEST_CONFIG"
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ConfigFile:
    """The YAML file settings are read from (``path`` None: no file) and the environment."""

    path: Path | None
    environ: Mapping[str, str]

    @classmethod
    def named(
        cls, path: Path | str | None = None, environ: Mapping[str, str] | None = None
    ) -> "ConfigFile":
        """``path``, else the file ``INGEST_CONFIG`` names, else none; ``environ``: os.environ."""
        env = os.environ if environ is None else environ
        if path is None:
            named = env.get(CONFIG_PATH_ENV)
            return cls(Path(named) if named else None, env)
        return cls(Path(path), env)

    @cached_property
    def contents(self) -> tuple[dict[str, Any], list[ConfigProblem]]:
        """The expanded top-level mapping and the expansion's problems (read once).

        :class:`ConfigError` when the file cannot be read or parsed.
        """
        raw = _read_yaml(self.path) if self.path is not None else {}
        expanded, problems = expand_env(raw, self.environ)
        return expanded, problems


def _read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping (``{}`` when empty); file problems become a ConfigError."""
    location = str(path)
    try:
        text = _read_text(path)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(location, MISSING, "config file not found")]) from None
    except UnicodeDecodeError as exc:
        message = f"config file is not UTF-8 text (byte {exc.start})"
        raise ConfigError([ConfigProblem(location, "(unreadable)", message)]) from None
    except OSError as exc:
        message = f"cannot read config file: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem(location, "(unreadable)", message)]) from None
    try:
        data = load_bounded_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(location, exc)]) from None
    except RecursionError:
        message = "refused YAML: nested too deeply"
        raise ConfigError([ConfigProblem(location, "(refused)", message)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        message = f"the top level must be a mapping of keys to values, not {kind_of(data)}"
        raise ConfigError([ConfigProblem(location, render(data), message)])
    return data


def _read_text(path: Path) -> str:
    """At most :data:`MAX_CONFIG_BYTES` (a larger file, ``/dev/zero``, is refused unread)."""
    with path.open("rb") as file:
        data = file.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        message = f"config file is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB"
        raise ConfigError([ConfigProblem(str(path), "(too large)", message)])
    return data.decode("utf-8")


def _yaml_problem(location: str, exc: yaml.YAMLError) -> ConfigProblem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ConfigProblem(location, "(invalid YAML)", f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    if mark is not None:
        location = f"{location}:{mark.line + 1}:{mark.column + 1}"
    kind = "refused YAML" if isinstance(exc, YamlLimitError) else "invalid YAML"
    message = f"{kind}: {exc.problem or exc.context or 'syntax error'}"
    if exc.problem and exc.context:
        message += f" ({exc.context})"
    return ConfigProblem(location, f"({kind})", message)
