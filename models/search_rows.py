"""An entity flattened into the read API's search rows, the way Backstage builds its ``search``
table: every leaf becomes ``(dotted.key, value)``, keys and values lower-cased, a list gives one
row per item under the same key (a repeated value once) and a plain item ``x`` also
``key.x`` = ``true`` (``metadata.tags.java``); ``relations`` become ``relations.<type>`` =
target ref.

Keys longer than :data:`SEARCH_KEY_LENGTH` are left out; a value longer than
:data:`SEARCH_VALUE_LENGTH` keeps its key with a null value (``key`` exists, no value matches).
Plain Python on dicts: the projector calls it per changed entity, never per request.
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

from models.tables import SEARCH_KEY_LENGTH, SEARCH_VALUE_LENGTH

SKIPPED_ROOTS = frozenset({"relations", "status"})
"""Not indexed leaf by leaf (relations are indexed by type, status is volatile)."""


class FlatRow(NamedTuple):
    key: str
    ordinal: int
    value: str | None
    original_value: str | None


def search_rows(entity: Any) -> list[FlatRow]:
    """The search rows of ``entity`` (a merged Backstage entity)."""
    if not isinstance(entity, dict):
        return []
    pairs = list(_leaves(entity, ""))
    metadata = entity.get("metadata")
    if not isinstance(metadata, dict) or "namespace" not in metadata:
        pairs.append(("metadata.namespace", "default"))
    pairs.extend(_relations(entity.get("relations")))
    rows: list[FlatRow] = []
    ordinals: dict[str, int] = {}
    seen: set[tuple[str, str | None]] = set()
    for key, value in pairs:
        row = _row(key.lower(), ordinals.get(key.lower(), 0), value)
        if len(row.key) > SEARCH_KEY_LENGTH or (row.key, row.value) in seen:
            continue
        seen.add((row.key, row.value))
        ordinals[row.key] = row.ordinal + 1
        rows.append(row)
    return rows


def _row(key: str, ordinal: int, value: str | None) -> FlatRow:
    if value is None or len(value) > SEARCH_VALUE_LENGTH:
        return FlatRow(key, ordinal, None, None)
    return FlatRow(key, ordinal, value.lower(), value)


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, str | None]]:
    if isinstance(node, dict):
        for name, child in node.items():
            if not prefix and name in SKIPPED_ROOTS:
                continue
            yield from _leaves(child, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(node, list):
        for item in node:
            yield from _leaves(item, prefix)
            if prefix and not isinstance(item, dict | list) and item is not None:
                yield f"{prefix}.{_text(item)}", "true"  # ``metadata.tags.java`` = true
    elif prefix:
        yield prefix, _text(node)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _relations(relations: Any) -> Iterator[tuple[str, str | None]]:
    if not isinstance(relations, list):
        return
    for relation in relations:
        if isinstance(relation, dict) and isinstance(relation.get("type"), str):
            target = relation.get("targetRef")
            if isinstance(target, str):
                yield f"relations.{relation['type']}", target
