"""The APIs a stored component lists in ``spec.providesApis``, as full refs.

Events use them to remove what a deleted or changed component no longer provides; a pass whose
detail call failed uses them to carry the component's APIs forward.
"""

from collections.abc import Mapping
from typing import Any

from catalog_ingest.contracts.provider import Entity
from catalog_ingest.engine.entity_preparation import (
    DEFAULT_NAMESPACE,
    InvalidEntityError,
    parse_ref,
)


def provided_apis(body: Entity) -> list[str]:
    """``spec.providesApis`` of a stored entity as full refs (short forms resolved against the
    entity's own namespace, as Backstage does)."""
    metadata, spec = body.get("metadata"), body.get("spec")
    apis = spec.get("providesApis") if isinstance(spec, Mapping) else None
    if not isinstance(apis, list):
        return []
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    if not isinstance(namespace, str):
        namespace = DEFAULT_NAMESPACE
    return [ref for ref in (full_ref(api, "api", namespace) for api in apis) if ref is not None]


def full_ref(
    ref: Any, default_kind: str | None = None, namespace: str = DEFAULT_NAMESPACE
) -> str | None:
    """The full ref of ``ref`` (Backstage's short form allowed), ``None`` when it is invalid."""
    try:
        return parse_ref(ref, default_kind, namespace)
    except InvalidEntityError:
        return None
