"""OpenChoreo events against today's API (namespace era), as the official plugin reads them.

A namespace is a Domain, a project a System and a component a Component (with the APIs of its
workload) in the Backstage namespace named after its OpenChoreo namespace. Each event costs one
read of the resource (a component one more: its workload, as the walk's lookup reads it). A
workload event refreshes the component that owns it; a deleted workload cannot name its owner
any more, so the component its name stands for (``<component>-workload``, the controllers'
convention) is refreshed, which is safe whatever the name: a refresh only converges on
upstream's state.
"""

from collections.abc import Callable, Mapping

from pydantic import ValidationError

from catalog_ingest.contracts.provider import IGNORED, Delta, EventResult
from catalog_ingest.engine.entity_preparation import entity_ref
from catalog_ingest.providers.openchoreo.client import (
    OpenChoreoClient,
    path_of,
    validation_message,
)
from catalog_ingest.providers.openchoreo.event_payload import OpenChoreoEvent
from catalog_ingest.providers.openchoreo.namespace_client import NamespaceClient
from catalog_ingest.providers.openchoreo.namespace_payloads import Workload
from catalog_ingest.providers.openchoreo.namespace_translate import NamespaceTranslator
from catalog_ingest.providers.openchoreo.upstream_errors import (
    NotFoundError,
    UpstreamContractError,
)

DEFAULT_NAMESPACE = "default"
"""The namespace of an event that names none (as the official plugin assumes)."""
WORKLOAD_SUFFIX = "-workload"

Refresh = Callable[[NamespaceClient, NamespaceTranslator, OpenChoreoEvent], Delta | None]


def on_event(
    client: OpenChoreoClient, translator: NamespaceTranslator, event: OpenChoreoEvent
) -> EventResult:
    refresh = REFRESH.get(event.kind)
    delta = None if refresh is None else refresh(NamespaceClient(client), translator, event)
    return IGNORED if delta is None else delta


def _namespace(
    client: NamespaceClient, translator: NamespaceTranslator, event: OpenChoreoEvent
) -> Delta:
    try:
        namespace = client.namespace(event.name)
    except NotFoundError:
        return Delta(removed=[entity_ref("Domain", DEFAULT_NAMESPACE, event.name)])
    return Delta(added=[translator.domain(namespace)])


def _project(
    client: NamespaceClient, translator: NamespaceTranslator, event: OpenChoreoEvent
) -> Delta:
    namespace = event.namespace or DEFAULT_NAMESPACE
    try:
        project = client.project(namespace, event.name)
    except NotFoundError:
        return Delta(removed=[entity_ref("System", namespace, event.name)])
    return Delta(added=[translator.system(project, namespace)])


def _component(
    client: NamespaceClient, translator: NamespaceTranslator, event: OpenChoreoEvent
) -> Delta:
    return refresh_component(client, translator, event.namespace or DEFAULT_NAMESPACE, event.name)


def refresh_component(
    client: NamespaceClient, translator: NamespaceTranslator, namespace: str, name: str
) -> Delta:
    """The component and its APIs as upstream has them now, replacing what it provided."""
    ref = entity_ref("Component", namespace, name)
    try:
        component = client.component(namespace, name)
        workload = client.component_workload(namespace, name)
    except NotFoundError:
        return Delta(removed=[ref], replaces_apis_of=[ref])
    entities = translator.component(component, namespace, workload)
    return Delta(added=entities, replaces_apis_of=[ref])


def _workload(
    client: NamespaceClient, translator: NamespaceTranslator, event: OpenChoreoEvent
) -> Delta | None:
    namespace = event.namespace or DEFAULT_NAMESPACE
    workload = get_workload(client, namespace, event.name)
    if workload is not None:
        owner = workload.component
    elif event.name.endswith(WORKLOAD_SUFFIX) and len(event.name) > len(WORKLOAD_SUFFIX):
        owner = event.name.removesuffix(WORKLOAD_SUFFIX)
    else:
        return None  # its owner is unknown: the next pass reconciles
    return refresh_component(client, translator, namespace, owner)


REFRESH: Mapping[str, Refresh] = {
    "namespace": _namespace,
    "project": _project,
    "component": _component,
    "workload": _workload,
}
KINDS = frozenset(REFRESH)
"""Kinds this generation maps to entities; others (environments, traits...) are ignored."""


def get_workload(client: NamespaceClient, namespace: str, name: str) -> Workload | None:
    """``GET /namespaces/{ns}/workloads/{name}``; ``None`` when it does not exist."""
    path = path_of("namespaces", namespace, "workloads", name)
    try:
        body = client.http.get_json(path, {})
    except NotFoundError:
        return None
    try:
        return Workload.model_validate(body)
    except ValidationError as error:
        raise UpstreamContractError(
            f"GET {path}: response breaks the OpenChoreo contract: {validation_message(error)}"
        ) from None
