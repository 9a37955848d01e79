"""Looking up the workload of a component the join could not place (namespace era).

The walk defers such components (see :mod:`.workload_join`); the engine resolves them in child
tasks or inline, every call through the gate (a global request slot): one
``GET /namespaces/{ns}/workloads?component=<name>`` each, as the reference plugin makes for every
component. A lookup that keeps failing emits the component from its listing (the fallback, with the
reason) and keeps the APIs it provided before (see :mod:`.fallback`); a namespace deleted in
between drops it.
"""

from collections.abc import Mapping

import structlog
from pydantic import ValidationError

from catalog_ingest.contracts.provider import Deferred, JSONValue, Resolution
from catalog_ingest.providers.openchoreo.fallback import fallback_resolution
from catalog_ingest.providers.openchoreo.generation import GENERATION_KEY
from catalog_ingest.providers.openchoreo.namespace_client import NamespaceClient
from catalog_ingest.providers.openchoreo.namespace_payloads import Component
from catalog_ingest.providers.openchoreo.namespace_translate import NamespaceTranslator
from catalog_ingest.providers.openchoreo.upstream_errors import NotFoundError, UpstreamError

log = structlog.get_logger(__name__)


def defer_lookup(namespace: str, component: Component) -> Deferred:
    """A component's workload lookup as a deferred item (its listing travels with it)."""
    return Deferred(
        key=f"{namespace}/{component.name}",
        payload={
            GENERATION_KEY: "namespaces",
            "namespace": namespace,
            "component": component.model_dump(mode="json", by_alias=True, exclude_none=True),
        },
        labels={"namespace": namespace, "project": component.project, "component": component.name},
    )


def is_lookup(payload: JSONValue) -> bool:
    return isinstance(payload, Mapping) and payload.get(GENERATION_KEY) == "namespaces"


def _parse(payload: JSONValue) -> tuple[str, Component]:
    if not isinstance(payload, Mapping):
        raise ValueError(f"not a deferred OpenChoreo lookup: {str(payload)[:200]}")
    try:
        return str(payload["namespace"]), Component.model_validate(payload["component"])
    except (KeyError, ValidationError) as error:
        raise ValueError(f"not a deferred OpenChoreo lookup: {error}") from None


def resolve_lookup(
    client: NamespaceClient, translator: NamespaceTranslator, payload: JSONValue
) -> Resolution:
    namespace, component = _parse(payload)
    path = f"{namespace}/{component.name}"
    try:
        workload = client.component_workload(namespace, component.name)
    except NotFoundError:
        log.info("namespace vanished before the workload lookup", component=path)
        return Resolution()
    except UpstreamError as error:
        log.warning(
            "workload lookup failed; component emitted keeping its previous APIs",
            component=path,
            reason=str(error),
        )
        return fallback_resolution(translator.component(component, namespace, None), str(error))
    return Resolution(translator.component(component, namespace, workload))
