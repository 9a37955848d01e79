"""Where each leaf of a merged entity came from (for ``ingest explain``).

Computed on demand from the records, never stored: the source of a leaf is the first record in
merge order that has the leaf's path (a higher-ranked record holding a scalar where a lower one
holds an object would have made the scalar the leaf, so the first holder is the winner). Items
of a union list are attributed one by one, to the first record whose list holds them.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from catalog_ingest.aggregation.merge import UNION_PATHS, Path, contributors
from catalog_ingest.contracts.catalog import SourceRecord
from catalog_ingest.contracts.provider import Entity

_MISSING = object()


def provenance(merged: Entity, records: Sequence[SourceRecord]) -> list[tuple[str, str]]:
    """``(field, source)`` for every leaf of ``merged``, in the entity's key order."""
    used = contributors(records)
    fields: list[tuple[str, str]] = []
    for path, value in _leaves(merged, ()):
        if path in UNION_PATHS and isinstance(value, list):
            fields.extend(
                (f"{render(path)}[{index}]", _holder_of_item(used, path, item))
                for index, item in enumerate(value)
            )
        else:
            fields.append((render(path), _holder(used, path)))
    return fields


def render(path: Path) -> str:
    """A field path as text: ``metadata.annotations["backstage.io/owner"]``; keys holding
    dots, slashes, brackets or spaces are quoted."""
    parts = [path[0]] if path else []
    for key in path[1:]:
        plain = key and not any(char in key for char in './[]" ')
        parts.append(f".{key}" if plain else f'["{key}"]')
    return "".join(parts)


def _leaves(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    else:
        yield path, value


def _lookup(body: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(body, dict) or key not in body:
            return _MISSING
        body = body[key]
    return body


def _holder(used: Sequence[SourceRecord], path: Path) -> str:
    for record in used:
        if _lookup(record.body, path) is not _MISSING:
            return record.source
    return used[0].source  # pragma: no cover - every leaf comes from some record


def _holder_of_item(used: Sequence[SourceRecord], path: Path, item: Any) -> str:
    for record in used:
        values = _lookup(record.body, path)
        if isinstance(values, list) and item in values:
            return record.source
    return used[0].source  # pragma: no cover - every item comes from some record
