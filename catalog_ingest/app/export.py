"""Export formats: multi-document YAML (a Backstage catalog location) or JSON lines."""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TextIO

import orjson
import yaml

try:  # libyaml's emitter is ~10x faster; fall back to the pure-Python one
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


class ExportFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def write_entities(entities: Iterable[dict[str, Any]], out: TextIO, fmt: ExportFormat) -> int:
    """Write entities one by one (never all at once); returns how many were written."""
    count = 0
    for entity in entities:
        if fmt is ExportFormat.JSON:
            out.write(orjson.dumps(entity).decode())
            out.write("\n")
        else:
            out.write("---\n")
            out.write(yaml.dump(entity, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
        count += 1
    return count
