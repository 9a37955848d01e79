"""Namespace-era resources to Backstage entities, shaped like the reference plugin's.

The reference is openchoreo/backstage-plugins (``catalog-backend-module-openchoreo``,
``entityTranslation.ts`` and ``OpenChoreoEntityProvider.ts``): a namespace is a Domain in
Backstage's ``default`` namespace; a project a System in the Backstage namespace named after its
OpenChoreo namespace (``spec.domain: default/<ns>``); a component a Component there, in its
project's System; each API endpoint of a component's workload an API ``<component>-<endpoint>``
listed in the component's ``providesApis``. Names, namespaces, annotations, tags, owner and
lifecycle follow the reference so that refs, links and relations carry over. Deliberate
differences are listed in the README (``HTTP`` endpoints are APIs; repository annotations).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from catalog_ingest.contracts.provider import Entity
from catalog_ingest.providers.openchoreo.namespace_payloads import (
    Component,
    Namespace,
    Project,
    Resource,
    Workload,
    WorkloadEndpoint,
)
from catalog_ingest.providers.openchoreo.translate import (
    ANNOTATION,
    API_TYPES,
    API_VERSION,
    MANAGED_LABEL,
    SOURCE_LOCATION,
    api_name,
    dns_label,
)

DEFAULT_OWNER = "openchoreo-users"
"""The reference plugin's owner when ``defaultOwner`` is not set."""
API_ENDPOINT_TYPES = frozenset({"REST", "HTTP", "GraphQL", "gRPC"})
"""Endpoints catalogued as APIs. The reference lists REST, GraphQL and gRPC; today's API calls
REST endpoints ``HTTP`` (its enum has no ``REST``), so HTTP is included here."""
NO_SCHEMA = "No schema available"
COMPONENT_TYPE_KIND = "openchoreo.io/component-type-kind"
DELETION_TIMESTAMP = "openchoreo.io/deletion-timestamp"
ENDPOINT_VISIBILITY = "openchoreo.io/endpoint-visibility"
_WORKLOAD_TYPES = re.compile(r"^(deployment|statefulset|cronjob|job)/(.+)$")


def owner_ref(default_owner: str | None) -> str:
    """``group:default/<owner>`` as the reference qualifies it; a full ref is kept as is."""
    owner = default_owner or DEFAULT_OWNER
    return owner if ":" in owner or "/" in owner else f"group:default/{owner}"


def component_tags(component_type: str) -> list[str]:
    """The reference's tags: ``openchoreo``, ``component``, the workload type, the type name
    and the full type with ``-`` (``deployment/service`` -> ..., ``deployment-service``)."""
    match = _WORKLOAD_TYPES.match(component_type)
    tags = ["openchoreo", "component"]
    if match:
        tags += [match.group(1), match.group(2)]
    tags.append(component_type.replace("/", "-", 1))
    return list(dict.fromkeys(dns_label(tag) for tag in tags))


def api_endpoints(workload: Workload | None) -> list[tuple[str, WorkloadEndpoint]]:
    """The workload's endpoints that are APIs, by name."""
    if workload is None:
        return []
    endpoints = workload.spec.endpoints.items()
    return sorted((name, ep) for name, ep in endpoints if ep.type in API_ENDPOINT_TYPES)


def _compact(values: Mapping[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _repository(component: Component) -> tuple[str | None, str | None]:
    """URL and branch from ``spec.workflow.parameters.repository`` (``url``,
    ``revision.branch``), the standard workflow schema's place for them."""
    workflow = component.spec.workflow
    repository = workflow.parameters.get("repository") if workflow else None
    if not isinstance(repository, Mapping):
        return None, None
    url, revision = repository.get("url"), repository.get("revision")
    branch = revision.get("branch") if isinstance(revision, Mapping) else None
    return (url if isinstance(url, str) else None, branch if isinstance(branch, str) else None)


@dataclass(frozen=True, slots=True)
class NamespaceTranslator:
    """Builds the entities of one provider for the namespace-era API."""

    owner: str
    """``spec.owner`` of every entity (see :func:`owner_ref`)."""

    def _metadata(self, resource: Resource, namespace: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": resource.name, "namespace": namespace}
        metadata |= {
            "title": resource.display_name or resource.name,
            "description": resource.description or resource.name,
        }
        return metadata

    def domain(self, namespace: Namespace) -> Entity:
        """In Backstage's ``default`` namespace (the reference leaves it out: the same)."""
        metadata = self._metadata(namespace, "default")
        metadata["tags"] = ["openchoreo", "namespace", "domain"]
        metadata["annotations"] = _compact(
            {
                ANNOTATION["namespace"]: namespace.name,
                ANNOTATION["created_at"]: namespace.metadata.creation_timestamp,
                ANNOTATION["status"]: namespace.status.phase if namespace.status else None,
            }
        )
        metadata["labels"] = {MANAGED_LABEL: "true"}
        return _entity("Domain", metadata, {"owner": self.owner})

    def system(self, project: Project, namespace: str) -> Entity:
        metadata = self._metadata(project, project.metadata.namespace or namespace)
        metadata["tags"] = ["openchoreo", "project"]
        metadata["annotations"] = _compact(
            {
                ANNOTATION["project_id"]: project.name,
                ANNOTATION["project_uid"]: project.metadata.uid,
                ANNOTATION["namespace"]: namespace,
                DELETION_TIMESTAMP: project.metadata.deletion_timestamp,
            }
        )
        metadata["labels"] = {MANAGED_LABEL: "true"}
        return _entity("System", metadata, {"owner": self.owner, "domain": f"default/{namespace}"})

    def component(
        self, component: Component, namespace: str, workload: Workload | None
    ) -> list[Entity]:
        """The Component, then one API per API endpoint of its ``workload``."""
        apis = [
            self._api(component.name, component.project, namespace, name, endpoint)
            for name, endpoint in api_endpoints(workload)
        ]
        status = "Ready" if component.ready else "Not Ready"
        url, branch = _repository(component)
        metadata: dict[str, Any] = {
            "name": component.name,
            "title": component.name,
            "namespace": namespace,
        }
        if component.description:
            metadata["description"] = component.description
        metadata["tags"] = component_tags(component.type)
        metadata["annotations"] = _compact(
            {
                ANNOTATION["component"]: component.name,
                ANNOTATION["component_uid"]: component.metadata.uid,
                ANNOTATION["component_type"]: component.type,
                COMPONENT_TYPE_KIND: component.spec.component_type.kind,
                ANNOTATION["project"]: component.project,
                ANNOTATION["namespace"]: namespace,
                ANNOTATION["created_at"]: component.metadata.creation_timestamp,
                ANNOTATION["status"]: status,
                DELETION_TIMESTAMP: component.metadata.deletion_timestamp,
                SOURCE_LOCATION: f"url:{url}" if url else None,
                ANNOTATION["branch"]: branch,
            }
        )
        metadata["labels"] = {MANAGED_LABEL: "true"}
        spec: dict[str, Any] = {
            "type": component.type,
            "lifecycle": status.lower(),
            "owner": self.owner,
            "system": component.project,
        }
        if apis:
            spec["providesApis"] = [api["metadata"]["name"] for api in apis]
        return [_entity("Component", metadata, spec), *apis]

    def _api(
        self, component: str, project: str, namespace: str, name: str, endpoint: WorkloadEndpoint
    ) -> Entity:
        schema = endpoint.schema_.content if endpoint.schema_ else None
        metadata: dict[str, Any] = {
            "name": api_name(component, name),
            "namespace": namespace,
            "title": f"{component} {name} API",
            "description": (
                f"{endpoint.type} endpoint for {component} service on port {endpoint.port}"
            ),
            "tags": ["openchoreo", "api", dns_label(endpoint.type)],
            "annotations": {
                ANNOTATION["component"]: component,
                ANNOTATION["endpoint_name"]: name,
                ANNOTATION["endpoint_type"]: endpoint.type,
                ANNOTATION["endpoint_port"]: str(endpoint.port),
                ENDPOINT_VISIBILITY: ",".join(endpoint.visibility),
                ANNOTATION["project"]: project,
                ANNOTATION["namespace"]: namespace,
            },
            "labels": {MANAGED_LABEL: "true"},
        }
        spec = {
            "type": API_TYPES.get(endpoint.type, "openapi"),
            "lifecycle": "production",
            "owner": self.owner,
            "system": project,
            "definition": schema or NO_SCHEMA,
        }
        return _entity("API", metadata, spec)


def _entity(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> Entity:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def namespace_origin(entity: Mapping[str, Any]) -> str:
    """``ns/project/component[/endpoint]`` from a translated entity's annotations."""
    annotations = entity.get("metadata", {}).get("annotations", {})
    parts = [
        annotations.get(ANNOTATION["namespace"]),
        annotations.get(ANNOTATION["project"]) or annotations.get(ANNOTATION["project_id"]),
        annotations.get(ANNOTATION["component"]),
        annotations.get(ANNOTATION["endpoint_name"]),
    ]
    return "/".join(part for part in parts if part) or "?"
