"""OpenChoreo resources to Backstage entities, valid under the catalog model's rules.

organization -> Domain, project -> System, component -> Component, and each workload endpoint
of a service -> API (``<component>-<endpoint>``), named in ``providesApis``. Annotations and
the ``openchoreo.io/managed`` label follow the reference Backstage plugin.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from catalog_ingest.contracts.provider import Entity
from catalog_ingest.providers.openchoreo.payloads import (
    Component,
    Organization,
    Project,
    WorkloadEndpoint,
)

API_VERSION = "backstage.io/v1alpha1"
MANAGED_LABEL = "openchoreo.io/managed"
ANNOTATION = {
    "organization": "openchoreo.io/organization",
    "namespace": "openchoreo.io/namespace",
    "project": "openchoreo.io/project",
    "project_id": "openchoreo.io/project-id",
    "project_uid": "openchoreo.io/project-uid",
    "component": "openchoreo.io/component",
    "component_uid": "openchoreo.io/component-uid",
    "component_type": "openchoreo.io/component-type",
    "created_at": "openchoreo.io/created-at",
    "status": "openchoreo.io/status",
    "branch": "openchoreo.io/branch",
    "endpoint_name": "openchoreo.io/endpoint-name",
    "endpoint_type": "openchoreo.io/endpoint-type",
    "endpoint_port": "openchoreo.io/endpoint-port",
}
SOURCE_LOCATION = "backstage.io/source-location"

NamespaceStrategy = Literal["default", "organization"]

API_TYPES = {
    "REST": "openapi",
    "HTTP": "openapi",
    "GraphQL": "graphql",
    "gRPC": "grpc",
    "Websocket": "asyncapi",
}
"""Endpoint type -> Backstage API ``spec.type``; other types (TCP, UDP) keep their own name."""

LIFECYCLES = {"Ready": "production", "NotReady": "experimental"}
"""Component status -> ``spec.lifecycle``; anything else (Unknown, missing) is experimental."""
DEFAULT_LIFECYCLE = "experimental"

COMPONENT_TYPES = {
    "service": "Service",
    "web-application": "WebApplication",
    "webapplication": "WebApplication",
    "scheduled-task": "ScheduledTask",
    "scheduledtask": "ScheduledTask",
}
"""The ``<workload>/<type>`` form's last segment -> the classic type name."""

MAX_NAME = 63
_NOT_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_NOT_LABEL_CHARS = re.compile(r"[^a-z0-9-]+")


def canonical_type(component_type: str) -> str:
    """``Service``, ``WebApplication``, ``ScheduledTask``, also from ``deployment/service``."""
    if "/" not in component_type:
        return component_type
    last = component_type.rsplit("/", 1)[1]
    return COMPONENT_TYPES.get(last.lower(), last)


def is_service(component: Component) -> bool:
    return canonical_type(component.type) == "Service"


def backstage_component_type(component_type: str) -> str:
    canonical = canonical_type(component_type)
    return "website" if canonical == "WebApplication" else canonical.lower()


def dns_label(value: str) -> str:
    """A Backstage namespace / tag from an upstream name (lower-case DNS label, <= 63)."""
    label = _NOT_LABEL_CHARS.sub("-", value.lower()).strip("-")
    label = re.sub("-{2,}", "-", label)[:MAX_NAME].strip("-")
    return label or "unnamed"


def api_name(component: str, endpoint: str) -> str:
    """``<component>-<endpoint>``, shortened with a stable hash when it would exceed 63."""
    name = f"{component}-{_NOT_NAME_CHARS.sub('-', endpoint)}".strip("-_.")
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-_.')}-{digest}"


def _compact(values: Mapping[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


@dataclass(frozen=True, slots=True)
class Translator:
    """Builds the entities of one provider."""

    default_owner: str
    namespace_strategy: NamespaceStrategy = "default"

    def namespace_for(self, org: str) -> str:
        return "default" if self.namespace_strategy == "default" else dns_label(org)

    def _metadata(
        self, name: str, org: str, title: str | None, description: str | None, tags: list[str]
    ) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.namespace_for(org),
            "title": title or name,
            "description": description or name,
            "tags": tags,
            "labels": {MANAGED_LABEL: "true"},
        }

    def domain(self, org: Organization) -> Entity:
        metadata = self._metadata(
            org.name,
            org.name,
            org.display_name,
            org.description,
            ["openchoreo", "organization", "domain"],
        )
        metadata["annotations"] = _compact(
            {
                ANNOTATION["organization"]: org.name,
                ANNOTATION["namespace"]: org.namespace,
                ANNOTATION["created_at"]: org.created_at,
                ANNOTATION["status"]: org.status,
            }
        )
        return {
            "apiVersion": API_VERSION,
            "kind": "Domain",
            "metadata": metadata,
            "spec": {"owner": self.default_owner},
        }

    def system(self, project: Project, org: str) -> Entity:
        metadata = self._metadata(
            project.name, org, project.display_name, project.description, ["openchoreo", "project"]
        )
        metadata["annotations"] = _compact(
            {
                ANNOTATION["project_id"]: project.name,
                ANNOTATION["project_uid"]: project.uid,
                ANNOTATION["organization"]: org,
                ANNOTATION["created_at"]: project.created_at,
                ANNOTATION["status"]: project.status,
            }
        )
        return {
            "apiVersion": API_VERSION,
            "kind": "System",
            "metadata": metadata,
            "spec": {"owner": self.default_owner, "domain": org},
        }

    def component(
        self, component: Component, org: str, project: str, detail: Component | None = None
    ) -> list[Entity]:
        """The Component, then one API per workload endpoint of ``detail`` (services only).

        ``detail`` is the component's detail GET (with its workload); without it the entity is
        built from the listing alone: no repository annotations and no APIs.
        """
        source = detail or component
        spec_type = backstage_component_type(source.type)
        lifecycle = LIFECYCLES.get(source.status or "", DEFAULT_LIFECYCLE)
        workload = detail.workload if detail else None
        endpoints = workload.endpoints if workload else {}
        apis = [
            self._api(source, org, project, name, endpoint, lifecycle)
            for name, endpoint in sorted(endpoints.items())
        ]
        repository = (
            source.component_workflow.system_parameters.repository
            if source.component_workflow and source.component_workflow.system_parameters
            else None
        )
        branch = repository.revision.branch if repository and repository.revision else None
        metadata = self._metadata(
            source.name,
            org,
            source.display_name,
            source.description,
            ["openchoreo", "component", dns_label(spec_type)],
        )
        metadata["annotations"] = _compact(
            {
                ANNOTATION["component"]: source.name,
                ANNOTATION["component_uid"]: source.uid,
                ANNOTATION["component_type"]: source.type,
                ANNOTATION["project"]: project,
                ANNOTATION["organization"]: org,
                ANNOTATION["created_at"]: source.created_at,
                ANNOTATION["status"]: source.status,
                SOURCE_LOCATION: f"url:{repository.url}" if repository and repository.url else None,
                ANNOTATION["branch"]: branch,
            }
        )
        spec: dict[str, Any] = {
            "type": spec_type,
            "lifecycle": lifecycle,
            "owner": self.default_owner,
            "system": project,
        }
        if apis:
            spec["providesApis"] = [api["metadata"]["name"] for api in apis]
        entity: Entity = {
            "apiVersion": API_VERSION,
            "kind": "Component",
            "metadata": metadata,
            "spec": spec,
        }
        return [entity, *apis]

    def _api(
        self,
        component: Component,
        org: str,
        project: str,
        endpoint_name: str,
        endpoint: WorkloadEndpoint,
        lifecycle: str,
    ) -> Entity:
        name = api_name(component.name, endpoint_name)
        schema = endpoint.schema_.content if endpoint.schema_ else None
        metadata = self._metadata(
            name,
            org,
            f"{component.name} {endpoint_name} API",
            f"{endpoint.type} endpoint of {component.name} on port {endpoint.port}",
            ["openchoreo", "api", dns_label(endpoint.type)],
        )
        metadata["annotations"] = {
            ANNOTATION["component"]: component.name,
            ANNOTATION["endpoint_name"]: endpoint_name,
            ANNOTATION["endpoint_type"]: endpoint.type,
            ANNOTATION["endpoint_port"]: str(endpoint.port),
            ANNOTATION["project"]: project,
            ANNOTATION["organization"]: org,
        }
        return {
            "apiVersion": API_VERSION,
            "kind": "API",
            "metadata": metadata,
            "spec": {
                "type": API_TYPES.get(endpoint.type, dns_label(endpoint.type)),
                "lifecycle": lifecycle,
                "owner": self.default_owner,
                "system": project,
                "definition": schema or f"No schema available for this {endpoint.type} endpoint.",
            },
        }


def origin_of(entity: Mapping[str, Any]) -> str:
    """``org/project/component[/endpoint]`` from a translated entity's annotations."""
    annotations = entity.get("metadata", {}).get("annotations", {})
    parts = [
        annotations.get(ANNOTATION["organization"]),
        annotations.get(ANNOTATION["project"]) or annotations.get(ANNOTATION["project_id"]),
        annotations.get(ANNOTATION["component"]),
        annotations.get(ANNOTATION["endpoint_name"]),
    ]
    return "/".join(part for part in parts if part) or "?"
