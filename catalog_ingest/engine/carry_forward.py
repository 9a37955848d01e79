"""Carrying a component's previous APIs forward when its resolution was degraded.

The sweep removes only what upstream positively no longer has. A component whose detail call
kept failing is emitted from its listing, without APIs; its resolution names it in
``keep_refs_of``. The APIs its stored body listed in ``spec.providesApis`` are then marked into
the pass (their stored bodies untouched) and listed again in the emitted component, so the
catalog stays as it was and the next degraded pass can carry them forward again.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog_ingest.contracts.provider import Entity
from catalog_ingest.contracts.storage import IngestionRepository
from catalog_ingest.engine.entity_preparation import InvalidEntityError, entity_ref, validate_entity
from catalog_ingest.engine.provided_apis import provided_apis


@dataclass(frozen=True, slots=True)
class CarriedForward:
    """A page's entities with the previous APIs listed again, and the API refs to keep."""

    entities: list[Any]
    kept_refs: list[str] = field(default_factory=list)
    components: int = 0
    """Components that had APIs to carry forward."""


def carry_forward(
    repository: IngestionRepository,
    source: str,
    entities: Sequence[Any],
    keep_refs_of: Sequence[str],
) -> CarriedForward:
    """Look up what ``source`` stored for ``keep_refs_of`` and carry their APIs forward."""
    if not keep_refs_of:
        return CarriedForward(list(entities))
    stored = repository.stored_entities(source, list(dict.fromkeys(keep_refs_of)))
    kept = {ref: apis for ref, body in stored.items() if (apis := provided_apis(body))}
    if not kept:
        return CarriedForward(list(entities))
    listed = {ref: _listed(stored[ref]) for ref in kept}
    refs = [api for apis in kept.values() for api in apis]
    return CarriedForward([_relisted(e, listed) for e in entities], refs, len(kept))


def _listed(body: Entity) -> list[str]:
    """``spec.providesApis`` of a stored body as written (short forms kept)."""
    spec = body.get("spec")
    apis = spec.get("providesApis") if isinstance(spec, dict) else None
    return [api for api in apis if isinstance(api, str)] if isinstance(apis, list) else []


def _relisted(entity: Any, previous: dict[str, list[str]]) -> Any:
    """The entity with its previous APIs added to ``spec.providesApis`` (when it has some)."""
    try:
        ref = entity_ref(*validate_entity(entity))
    except InvalidEntityError:
        return entity
    apis = previous.get(ref)
    if not apis:
        return entity
    current = entity.get("spec")
    spec: Entity = dict(current) if isinstance(current, dict) else {}
    spec["providesApis"] = list(dict.fromkeys([*_listed(entity), *apis]))
    return {**entity, "spec": spec}
