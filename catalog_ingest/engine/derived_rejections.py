"""Rejecting entities with their rejected parent, so no stored entity points at nothing.

When an entity of a page is rejected (its name breaks Backstage's rules), entities of the same
page derived from it go too: those it lists in ``spec.providesApis``, and those whose
``spec.system``, ``spec.domain`` or ``spec.subcomponentOf`` names it; and so on, transitively
(a rejected system takes its components, which take their APIs). Each is a rejection of its
own, counted and logged with the parent it followed.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from catalog_ingest.contracts.storage import PreparedEntity

DEFAULT_NAMESPACE = "default"
_LINKS = (("system", "system"), ("domain", "domain"), ("subcomponentOf", "component"))
"""``spec`` fields that make an entity part of another one, with the kind they default to."""


def loose_ref(value: Any, default_kind: str, namespace: str) -> str | None:
    """A ref as :func:`entity_ref` writes it, from ``[kind:][namespace/]name`` without
    validating it (rejected entities have invalid names); ``None`` when not a string."""
    if not isinstance(value, str) or not value:
        return None
    kind, colon, rest = value.partition(":")
    if not colon:
        kind, rest = default_kind, value
    space, slash, name = rest.rpartition("/")
    return f"{kind.lower()}:{(space if slash else namespace).lower()}/{name}"


def _namespace(entity: Any) -> str:
    metadata = entity.get("metadata") if isinstance(entity, dict) else None
    space = metadata.get("namespace") if isinstance(metadata, dict) else None
    return space if isinstance(space, str) and space else DEFAULT_NAMESPACE


def _spec(entity: Any) -> dict[str, Any]:
    spec = entity.get("spec") if isinstance(entity, dict) else None
    return spec if isinstance(spec, dict) else {}


def _own_ref(entity: Any) -> str | None:
    if not isinstance(entity, dict) or not isinstance(entity.get("kind"), str):
        return None
    metadata = entity.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return loose_ref(name, entity["kind"], _namespace(entity)) if isinstance(name, str) else None


def _provided(entity: Any) -> set[str]:
    apis = _spec(entity).get("providesApis")
    if not isinstance(apis, list):
        return set()
    namespace = _namespace(entity)
    return {ref for api in apis if (ref := loose_ref(api, "api", namespace)) is not None}


def _parents(entity: Any) -> Iterable[str]:
    spec, namespace = _spec(entity), _namespace(entity)
    for key, kind in _LINKS:
        ref = loose_ref(spec.get(key), kind, namespace)
        if ref is not None:
            yield ref


def reject_derived(
    valid: Sequence[tuple[int, PreparedEntity]], rejected: Iterable[Any]
) -> tuple[list[tuple[int, PreparedEntity]], list[tuple[int, str]]]:
    """Split ``valid`` (index, entity) into those kept and those derived from a rejected
    entity, as ``(index, reason)``."""
    gone = {ref for entity in rejected if (ref := _own_ref(entity)) is not None}
    provided = {ref for entity in rejected for ref in _provided(entity)}
    kept, dropped = list(valid), []
    changed = bool(gone or provided)
    while changed:
        changed, remaining = False, []
        for index, item in kept:
            parent = _derived_from(item, gone, provided)
            if parent is None:
                remaining.append((index, item))
                continue
            dropped.append((index, f"{item.ref}: derived from rejected {parent}"))
            gone.add(item.ref)
            provided |= _provided(item.body)
            changed = True
        kept = remaining
    return kept, dropped


def _derived_from(item: PreparedEntity, gone: set[str], provided: set[str]) -> str | None:
    if item.ref in provided:
        return "provider of " + item.ref
    return next((ref for ref in _parents(item.body) if ref in gone), None)
