"""The merge rule: per ref, the live records of every source, by priority.

Records are ranked by priority (higher first), ties by source name. By default the merged
entity is a deep merge where, for every leaf key, the highest-ranked record that has the key
wins; ``metadata.annotations`` and ``metadata.labels`` are objects, so they merge key by key
under the same rule; ``metadata.tags`` and ``metadata.links`` are unions (higher-ranked items
first, no duplicates); any other list is a leaf, taken whole from the highest-ranked record
that has it. A record whose source declared ``merge: replace`` counts whole or not at all: it
is the merged entity when it ranks first, and contributes nothing otherwise.

The result shares unchanged sub-objects with the records (nothing is copied that the merge
does not change): treat it as read-only.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog_ingest.contracts.catalog import SourceRecord
from catalog_ingest.contracts.provider import Entity

Path = tuple[str, ...]
UNION_PATHS: frozenset[Path] = frozenset({("metadata", "tags"), ("metadata", "links")})
"""Lists merged as unions rather than taken whole."""


def ranked(records: Iterable[SourceRecord]) -> list[SourceRecord]:
    """Records in merge order: priority descending, then source name ascending."""
    return sorted(records, key=lambda record: (-record.priority, record.source))


def contributors(records: Iterable[SourceRecord]) -> list[SourceRecord]:
    """The records the merged entity is made of, in merge order (empty for no records)."""
    order = ranked(records)
    if not order or order[0].replace:
        return order[:1]
    return [record for record in order if not record.replace]


def merge_records(records: Sequence[SourceRecord]) -> Entity:
    """The merged entity of the records (at least one)."""
    used = contributors(records)
    if not used:
        raise ValueError("nothing to merge: no records")
    merged: Entity = used[0].body
    for record in used[1:]:
        merged = merge_pair(merged, record.body, ())
    return merged


def merge_pair(high: Mapping[str, Any], low: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """``high`` completed by ``low``: keys ``high`` lacks come from ``low``; objects both have
    merge recursively; union lists are unioned; any other value of ``high`` stays."""
    merged = dict(high)
    for key, low_value in low.items():
        if key not in merged:
            merged[key] = low_value
            continue
        high_value = merged[key]
        sub = (*path, key)
        if isinstance(high_value, dict) and isinstance(low_value, dict):
            merged[key] = merge_pair(high_value, low_value, sub)
        elif sub in UNION_PATHS and isinstance(high_value, list) and isinstance(low_value, list):
            merged[key] = union(high_value, low_value)
    return merged


def union(*lists: Sequence[Any]) -> list[Any]:
    """Items of the lists in order, each once (by equality: links are objects)."""
    items: list[Any] = []
    for values in lists:
        items.extend(value for value in values if value not in items)
    return items
