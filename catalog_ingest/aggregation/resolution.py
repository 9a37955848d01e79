"""What the catalog stores for one ref after its records changed: the storage's merge step.

A ref with one contributing record (one source, or a ``replace`` source ranked first) is
stored as a *pointer* to that record: its merged entity is the record itself, its hash the
record's hash, and no body is written twice (the fast path of a ref only one source has).
Several contributors give a *merged body*, checked before it is stored: a merge that would
break the entity's validity keeps the previous merged entity and reports the conflict.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog_ingest.aggregation.entity_rules import (
    InvalidEntityError,
    canonical_json,
    content_hash,
    entity_ref,
    validate_entity,
)
from catalog_ingest.aggregation.merge import contributors, merge_records
from catalog_ingest.contracts.catalog import SourceRecord

MAX_MERGED_BYTES = 1024 * 1024
"""Largest merged entity stored (canonical JSON bytes): the default ``max_entity_bytes``. Two
records within their own limit can merge into one above it."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What the catalog holds for a ref: the winning source (pointer or top contributor), the
    merged hash, and the merged body when it is not simply the winner's record."""

    source: str
    priority: int
    content_hash: str
    body_json: str | None = None
    conflict: str | None = None


@dataclass(frozen=True, slots=True)
class Previous:
    """The catalog's current entry for a ref."""

    source: str
    content_hash: str
    has_body: bool


def resolve(ref: str, records: Sequence[SourceRecord], previous: Previous | None) -> Stored | None:
    """The catalog entry for ``ref`` given its live ``records`` (``None``: no record, the ref
    leaves the catalog). Bodies are read only when several records contribute."""
    used = contributors(records)
    if not used:
        return None
    top = used[0]
    if len(used) == 1:
        return Stored(top.source, top.priority, top.content_hash)
    merged = merge_records(used)
    encoded, problem = check_merged(ref, merged)
    if encoded is not None:
        return Stored(top.source, top.priority, content_hash(encoded), encoded.decode())
    return _keep_previous(records, previous, problem or "invalid merged entity")


def _keep_previous(
    records: Sequence[SourceRecord], previous: Previous | None, problem: str
) -> Stored:
    """The previous merged entity, when it is still stored as it was; else the top-ranked
    record whole. Either way ``conflict`` says why the merge was refused."""
    if previous is not None and previous.has_body:
        return Stored(previous.source, 0, previous.content_hash, None, problem)
    for record in records:
        if previous is not None and (record.source, record.content_hash) == (
            previous.source,
            previous.content_hash,
        ):
            return Stored(record.source, record.priority, record.content_hash, None, problem)
    top = contributors(records)[0]
    return Stored(top.source, top.priority, top.content_hash, None, problem)


def keeps_body(stored: Stored, previous: Previous | None) -> bool:
    """A refused merge whose previous merged body stays as it is (nothing but the conflict
    is written)."""
    return stored.conflict is not None and previous is not None and previous.has_body


def check_merged(ref: str, merged: Any) -> tuple[bytes | None, str | None]:
    """The merged entity's canonical JSON, or why it cannot be stored."""
    try:
        kind, namespace, name = validate_entity(merged)
    except InvalidEntityError as error:
        return None, str(error)
    if entity_ref(kind, namespace, name) != ref:
        return None, f"the merged entity is {entity_ref(kind, namespace, name)}, not {ref}"
    for key in ("spec", "status"):
        if key in merged and not isinstance(merged[key], dict):
            return None, f"{key} must be an object, got {type(merged[key]).__name__}"
    encoded = canonical_json(merged)
    if len(encoded) > MAX_MERGED_BYTES:
        return (
            None,
            f"the merged entity is {len(encoded):,} bytes of JSON, over {MAX_MERGED_BYTES:,}",
        )
    return encoded, None
