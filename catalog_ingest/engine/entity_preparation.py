"""Backstage entity rules the engine enforces: refs, naming, location stamping, content hashes.

The naming rules are Backstage's (enforced by its code, not its JSON schemas): ``metadata.name``
1-63 chars ``^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$``, ``metadata.namespace`` a DNS label,
``kind`` ``^[a-zA-Z][a-z0-9A-Z]*$`` (<= 63). Refs are ``kind:namespace/name`` with kind and
namespace lower-cased, as ``stringifyEntityRef`` writes them.
"""

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from catalog_ingest.contracts.errors import IngestError
from catalog_ingest.contracts.storage import PreparedEntity
from catalog_ingest.engine.derived_rejections import reject_derived
from catalog_ingest.engine.options import DEFAULT_MAX_ENTITY_BYTES

DEFAULT_NAMESPACE = "default"
MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_NAMESPACE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_KIND = re.compile(r"^[a-zA-Z][a-z0-9A-Z]*$")
_API_VERSION = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*/)?[a-z0-9]+$")
_MAX_LENGTH = 63


class InvalidEntityError(IngestError, ValueError):
    """An entity breaks Backstage's structural or naming rules."""


def entity_ref(kind: str, namespace: str, name: str) -> str:
    """Backstage's ref string; kind and namespace lower-cased, the name kept as written."""
    return f"{kind.lower()}:{namespace.lower()}/{name}"


def parse_ref(
    ref: Any, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE
) -> str:
    """A full ref from Backstage's short form ``[kind:][namespace/]name`` (as in
    ``spec.providesApis``); :class:`InvalidEntityError` when it is not a valid ref."""
    if not isinstance(ref, str):
        raise InvalidEntityError(f"an entity ref must be a string, got {type(ref).__name__}")
    kind, colon, rest = ref.partition(":")
    if not colon:
        kind, rest = default_kind or "", ref
    namespace, slash, name = rest.rpartition("/")
    if not slash:
        namespace = default_namespace
    if not kind:
        raise InvalidEntityError(f"entity ref {ref[:80]!r} has no kind")
    _check(kind, _KIND, f"kind of ref {ref[:80]!r}")
    _check(namespace.lower(), _NAMESPACE, f"namespace of ref {ref[:80]!r}")
    _check(name, _NAME, f"name of ref {ref[:80]!r}")
    return entity_ref(kind, namespace, name)


def _check(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str):
        raise InvalidEntityError(f"{what} must be a string, got {type(value).__name__}")
    if not value or len(value) > _MAX_LENGTH or not pattern.match(value):
        raise InvalidEntityError(
            f"{what} {value[:80]!r} is not valid (1-{_MAX_LENGTH} chars matching {pattern.pattern})"
        )
    return value


def validate_entity(entity: Any) -> tuple[str, str, str]:
    """Return ``(kind, namespace, name)`` of a structurally valid entity, else raise."""
    if not isinstance(entity, dict):
        raise InvalidEntityError(f"an entity must be a JSON object, got {type(entity).__name__}")
    api_version = entity.get("apiVersion")
    if not isinstance(api_version, str) or not _API_VERSION.match(api_version):
        raise InvalidEntityError(f"apiVersion {api_version!r} is not valid")
    kind = _check(entity.get("kind"), _KIND, "kind")
    metadata = entity.get("metadata")
    if not isinstance(metadata, dict):
        raise InvalidEntityError(f"{kind}: metadata must be an object")
    name = _check(metadata.get("name"), _NAME, f"{kind} metadata.name")
    namespace = _check(
        metadata.get("namespace", DEFAULT_NAMESPACE), _NAMESPACE, f"{kind} metadata.namespace"
    )
    for key in ("annotations", "labels"):
        if key in metadata and not isinstance(metadata[key], dict):
            raise InvalidEntityError(f"{kind}:{namespace}/{name}: metadata.{key} must be an object")
    return kind, namespace, name


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
        encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
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
        content_hash=hashlib.sha256(encoded).hexdigest(),
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
