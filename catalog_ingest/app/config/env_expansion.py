"""``${VAR}`` and ``${VAR:-default}`` in the parsed configuration file.

As in the shell, ``:-`` also applies to a variable set to the empty string; ``$${X}`` is the
literal ``${X}``. Only string values are expanded, never keys.
"""

import os
import re
from collections.abc import Mapping
from typing import Any

from catalog_ingest.app.config.problems import ConfigProblem, format_location, render_at
from catalog_ingest.app.config.schema import LocPart

_ENV_REFERENCE = re.compile(
    r"\$\$\{"  # escaped: $${X} is the literal ${X}
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
    r"|\$\{"  # anything else starting with ${ is malformed
)


def expand_env(
    value: Any, environ: Mapping[str, str] | None = None
) -> tuple[Any, list[ConfigProblem]]:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string of parsed YAML.

    Returns the expanded copy and the problems found: an unset variable without a default (it
    expands to ``""``) or a malformed ``${...}``. ``environ`` defaults to :data:`os.environ`.
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
        problems.append(ConfigProblem(format_location(loc), render_at(text, loc), message))
        return ""

    return _ENV_REFERENCE.sub(replace, text)
