"""OpenChoreo events against the organization-era API (``/orgs/...``).

``namespace`` names the organization (an organization's namespace carries its name) and is
required below the organization level: without it a ref in Backstage's ``default`` namespace
could belong to another organization. A component event may carry ``project`` (not in the
forwarder's payload); without it the component is looked for in each of the organization's
projects, one detail call each. Organizations and projects are found in their name-ordered
listings, the reads every organization-era server offers for them.
"""

from collections.abc import Callable, Iterator, Mapping

from catalog_ingest.contracts.errors import InvalidEventError
from catalog_ingest.contracts.provider import IGNORED, Delta, EventResult
from catalog_ingest.engine.entity_preparation import entity_ref
from catalog_ingest.providers.openchoreo.client import MAX_LIMIT, OpenChoreoClient, path_of
from catalog_ingest.providers.openchoreo.event_payload import OpenChoreoEvent
from catalog_ingest.providers.openchoreo.payloads import Component, Item, Organization, Project
from catalog_ingest.providers.openchoreo.translate import Translator, is_service
from catalog_ingest.providers.openchoreo.upstream_errors import (
    NotFoundError,
    UpstreamContractError,
)

Refresh = Callable[[OpenChoreoClient, Translator, OpenChoreoEvent], Delta]


def on_event(
    client: OpenChoreoClient, translator: Translator, event: OpenChoreoEvent
) -> EventResult:
    refresh = REFRESH.get(event.kind)
    return IGNORED if refresh is None else refresh(client, translator, event)


def _organization(
    client: OpenChoreoClient, translator: Translator, event: OpenChoreoEvent
) -> Delta:
    org = find_listed(client, path_of("orgs"), Organization, event.name)
    if org is None:
        namespace = translator.namespace_for(event.name)
        return Delta(removed=[entity_ref("Domain", namespace, event.name)])
    return Delta(added=[translator.domain(org)])


def _project(client: OpenChoreoClient, translator: Translator, event: OpenChoreoEvent) -> Delta:
    org = _organization_of(event)
    project = find_listed(client, path_of("orgs", org, "projects"), Project, event.name)
    if project is None:
        return Delta(removed=[entity_ref("System", translator.namespace_for(org), event.name)])
    return Delta(added=[translator.system(project, org)])


def _component(client: OpenChoreoClient, translator: Translator, event: OpenChoreoEvent) -> Delta:
    org = _organization_of(event)
    ref = entity_ref("Component", translator.namespace_for(org), event.name)
    found = _find_component(client, org, event.project, event.name)
    if found is None:
        return Delta(removed=[ref], replaces_apis_of=[ref])
    project, detail = found
    # As the walk: the listing's fields, plus the detail (workload, repository) for services.
    listed = detail.model_copy(update={"component_workflow": None, "workload": None})
    entities = translator.component(listed, org, project, detail if is_service(detail) else None)
    return Delta(added=entities, replaces_apis_of=[ref])


REFRESH: Mapping[str, Refresh] = {
    "namespace": _organization,
    "organization": _organization,
    "project": _project,
    "component": _component,
}
KINDS = frozenset(REFRESH)
"""Kinds this generation maps to entities; others (workloads, environments...) are ignored."""


def _organization_of(event: OpenChoreoEvent) -> str:
    if not event.namespace:
        raise InvalidEventError(
            f"openchoreo event: a {event.kind} event needs 'namespace' (its organization)"
        )
    return event.namespace


def _find_component(
    client: OpenChoreoClient, org: str, project: str | None, name: str
) -> tuple[str, Component] | None:
    """The project holding the component and its detail (with its workload); ``None`` when
    it is in none of them (or the organization is gone)."""
    projects = [project] if project else _names(client, path_of("orgs", org, "projects"))
    for candidate in projects:
        try:
            return candidate, client.component(org, candidate, name)
        except NotFoundError:
            continue
    return None


def find_listed(client: OpenChoreoClient, path: str, model: type[Item], name: str) -> Item | None:
    """The item ``name`` of a name-ordered listing; ``None`` once the listing passed it (or
    its parent is gone)."""
    for item in _listed(client, path, model):
        if item.name == name:
            return item
        if item.name > name:
            return None
    return None


def _names(client: OpenChoreoClient, path: str) -> list[str]:
    return [item.name for item in _listed(client, path, Project)]


def _listed(client: OpenChoreoClient, path: str, model: type[Item]) -> Iterator[Item]:
    """Every item of a listing, page by page; nothing when its parent is gone (404)."""
    token: str | None = None
    seen: set[str] = set()
    while True:
        try:
            page = client.list_page(path, model, MAX_LIMIT, token)
        except NotFoundError:
            return
        yield from page.items
        if not page.has_more or page.continue_token is None:
            return
        if page.continue_token in seen:
            raise UpstreamContractError(f"GET {path}: a continue token came back; stopped")
        seen.add(page.continue_token)
        token = page.continue_token
