"""A degraded resolution: a component built from its listing, keeping its previous APIs.

When a detail call or workload lookup keeps failing, upstream has said nothing about the
component's APIs: they are not gone. The resolution names the component in ``keep_refs_of`` so
the engine carries the APIs it provided before forward instead of letting the sweep remove them.
"""

from collections.abc import Sequence
from typing import Any

from catalog_ingest.contracts.provider import Resolution


def _ref(entity: dict[str, Any]) -> str:
    metadata = entity.get("metadata") or {}
    namespace = str(metadata.get("namespace") or "default").lower()
    return f"{str(entity.get('kind')).lower()}:{namespace}/{metadata.get('name')}"


def fallback_resolution(entities: Sequence[dict[str, Any]], reason: str) -> Resolution:
    """The listing's entities, the reason, and the components whose previous APIs are kept."""
    components = [_ref(entity) for entity in entities if entity.get("kind") == "Component"]
    return Resolution(entities, fallback=reason, keep_refs_of=components)
