"""Backstage entity rules shared by the engine (preparing a source's entities) and the merge
(checking a merged one): refs, naming, the structural check, canonical JSON and its hash.

The naming rules are Backstage's (enforced by its code, not its JSON schemas): ``metadata.name``
1-63 chars ``^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$``, ``metadata.namespace`` a DNS label,
``kind`` ``^[a-zA-Z][a-z0-9A-Z]*$`` (<= 63). Refs are ``kind:namespace/name`` with kind and
namespace lower-cased, as ``stringifyEntityRef`` writes them.

They live here rather than in the engine because storage runs the merge: ``models`` may import
this package but nothing of the engine (import-linter contracts in ``pyproject.toml``).
"""

import hashlib
import re
from typing import Any

import orjson

from catalog_ingest.contracts.errors import IngestError

DEFAULT_NAMESPACE = "default"

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


def canonical_json(entity: Any) -> bytes:
    """Sorted-key compact JSON: equal entities give equal bytes, whatever their key order.
    ``TypeError`` when the value is not JSON-serialisable."""
    return orjson.dumps(entity, option=orjson.OPT_SORT_KEYS)


def content_hash(encoded: bytes) -> str:
    """The content hash stored beside an entity: sha256 of its canonical JSON, in hex."""
    return hashlib.sha256(encoded).hexdigest()
