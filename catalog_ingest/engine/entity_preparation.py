"""Backstage entity rules the engine enforces: refs, naming, location stamping, content hashes.

The naming rules, refs and canonical hashing are in
:mod:`catalog_ingest.aggregation.entity_rules` (the merge in storage checks merged entities with
them) and re-exported here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalog_ingest.aggregation.entity_rules import (
    DEFAULT_NAMESPACE,
    InvalidEntityError,
    canonical_json,
    content_hash,
    entity_ref,
    parse_ref,
    validate_entity,
)
from catalog_ingest.contracts.storage import PreparedEntity
from catalog_ingest.engine.derived_rejections import reject_derived
from catalog_ingest.engine.options import DEFAULT_MAX_ENTITY_BYTES

__all__ = [
    "DEFAULT_NAMESPACE",
    "MANAGED_BY_LOCATION",
    "MANAGED_BY_ORIGIN_LOCATION",
    "InvalidEntityError",
    "PreparedPage",
    "Rejection",
    "entity_ref",
    "location_of",
    "parse_ref",
    "prepare_entity",
    "prepare_page",
    "validate_entity",
]

MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"


def location_of(provider_name: str) -> str:
    """The managed-by location every entity of a provider carries."""
    return f"provider:{provider_name}"


def prepare_entity(
    entity: Any, provider_name: str, max_bytes: int = DEFAULT_MAX_ENTITY_BYTES
) -> PreparedEntity:
    """Validate, stamp the provider's location annotations and hash one entity.

    The input is not mutated. The hash covers the canonical (sorted-key) JSON of the stamped
    body, so an unchanged upstream item gives the same hash on every pass. An entity whose
    canonical JSON exceeds ``max_bytes`` is rejected: one huge upstream field must not be
    stored whole, nor held by every page and pass that carries it.
    """
    kind, namespace, name = validate_entity(entity)
    metadata = dict(entity["metadata"])
    location = location_of(provider_name)
    metadata["namespace"] = namespace
    metadata["annotations"] = {
        **metadata.get("annotations", {}),
        MANAGED_BY_LOCATION: location,
        MANAGED_BY_ORIGIN_LOCATION: location,
    }
    body = {**entity, "metadata": metadata}
    try:
        encoded = canonical_json(body)
    except TypeError as error:
        raise InvalidEntityError(
            f"{entity_ref(kind, namespace, name)} is not JSON-serialisable: {error}"
        ) from error
    if len(encoded) > max_bytes:
        raise InvalidEntityError(
            f"{entity_ref(kind, namespace, name)} is {len(encoded):,} bytes of JSON, "
            f"over max_entity_bytes ({max_bytes:,})"
        )
    return PreparedEntity(
        ref=entity_ref(kind, namespace, name),
        kind=kind,
        namespace=namespace,
        name=name,
        body=body,
        body_json=encoded.decode(),
        content_hash=content_hash(encoded),
    )


@dataclass(frozen=True, slots=True)
class Rejection:
    """An entity refused by the naming rules, with the reason."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page ready to commit: valid entities, rejections, and repeats dropped from it."""

    entities: list[PreparedEntity]
    rejections: list[Rejection]
    duplicates: list[tuple[PreparedEntity, PreparedEntity]]
    """``(kept, dropped)`` for each ref the page held more than once."""


def prepare_page(
    entities: Iterable[Any], provider_name: str, max_entity_bytes: int = DEFAULT_MAX_ENTITY_BYTES
) -> PreparedPage:
    """Prepare a page's entities; invalid ones are rejected one by one, never the page, and
    with them the entities of the page derived from them (:mod:`.derived_rejections`).

    When a page holds the same ref twice, the first occurrence is kept, as across the pages of
    a pass: upstream names that clash must not make the catalog flip between two owners.
    """
    valid: list[tuple[int, PreparedEntity]] = []
    invalid: list[Any] = []
    rejected: list[Rejection] = []
    for index, entity in enumerate(entities):
        try:
            valid.append((index, prepare_entity(entity, provider_name, max_entity_bytes)))
        except InvalidEntityError as error:
            rejected.append(Rejection(index, str(error)))
            invalid.append(entity)
    valid, derived = reject_derived(valid, invalid)
    rejected.extend(Rejection(index, reason) for index, reason in derived)
    prepared: dict[str, PreparedEntity] = {}
    duplicates: list[tuple[PreparedEntity, PreparedEntity]] = []
    for _index, item in valid:
        kept = prepared.setdefault(item.ref, item)
        if kept is not item:
            duplicates.append((kept, item))
    return PreparedPage(list(prepared.values()), rejected, duplicates)
