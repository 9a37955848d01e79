"""Namespace-era bodies: the dataset's items as Kubernetes-shaped resources.

Each is built from the organization-era record of the same node and revision, so both API
generations always show the same data: an organization is a Namespace, a project a Project, a
component a Component, and each service component has one Workload named
``<component>-workload`` (as OpenChoreo names the workload it creates for a component) that
carries the endpoints the organization era returns through ``include=workload``.

Mapping of the organization-era fields: ``displayName`` and ``description`` become the
annotations ``openchoreo.dev/display-name`` and ``openchoreo.dev/description``; ``createdAt``
becomes ``metadata.creationTimestamp``; ``status`` (``Ready``, ``NotReady``, ``Unknown``)
becomes the ``Ready`` condition (``True``, ``False``, ``Unknown``); a component's ``type`` is
``spec.componentType.name`` in its long form (``deployment/service``, whatever form the
organization era shows); its ``componentWorkflow`` is ``spec.workflow`` with the
``systemParameters`` as ``parameters``; a ``REST`` endpoint is an ``HTTP`` endpoint (the
namespace-era enum has no ``REST``; its schema type stays ``REST``).
"""

from typing import Any

from catalog_ingest.simulator.draws import Draws
from catalog_ingest.simulator.records import (
    LONG_TYPES,
    JSONDict,
    component_kind,
    component_record,
    component_workflow,
    org_record,
    project_record,
)
from catalog_ingest.simulator.spec import DatasetSpec, Node
from catalog_ingest.simulator.workloads import service_workload

API_VERSION = "openchoreo.dev/v1alpha1"
DISPLAY_NAME = "openchoreo.dev/display-name"
DESCRIPTION = "openchoreo.dev/description"
CONTROL_PLANE = "openchoreo.dev/control-plane"
WORKLOAD_SUFFIX = "-workload"
IMAGE_REGISTRY = "registry.example.com"
READY: dict[str, tuple[str, str, str]] = {
    "Ready": ("True", "Reconciled", "is ready"),
    "NotReady": ("False", "ReconcileFailed", "is not ready"),
    "Unknown": ("Unknown", "Pending", "is being reconciled"),
}
"""Organization-era status -> the ``Ready`` condition's status, reason and message."""


def workload_name(component: str) -> str:
    return component + WORKLOAD_SUFFIX


def _uid(spec: DatasetSpec, kind: str, node: Node) -> str:
    """A UUID-shaped id for items the organization era shows without one."""
    raw = Draws(spec.seed, "uid", kind, node.upstream_path).hex(32)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"


def _metadata(record: JSONDict, namespace: str | None, uid: str) -> JSONDict:
    metadata: JSONDict = {"name": record["name"]}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["uid"] = uid
    metadata["annotations"] = {
        DISPLAY_NAME: record["displayName"],
        DESCRIPTION: record["description"],
    }
    metadata["creationTimestamp"] = record["createdAt"]
    return metadata


def _status(kind: str, record: JSONDict, revision: int) -> JSONDict:
    status, reason, message = READY[record["status"]]
    generation = 1 + revision
    condition = {
        "type": "Ready",
        "status": status,
        "observedGeneration": generation,
        "lastTransitionTime": record["createdAt"],
        "reason": reason,
        "message": f"{kind} {message}",
    }
    return {"observedGeneration": generation, "conditions": [condition]}


def namespace_resource(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    record = org_record(spec, node, revision)
    metadata = _metadata(record, None, _uid(spec, "namespace", node))
    metadata["labels"] = {CONTROL_PLANE: "true"}
    return {"metadata": metadata, "status": {"phase": "Active"}}


def project_resource(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    record = project_record(spec, node, revision)
    pipeline = {"kind": "DeploymentPipeline", "name": record["deploymentPipeline"]}
    return {
        "apiVersion": API_VERSION,
        "kind": "Project",
        "metadata": _metadata(record, record["orgName"], record["uid"]),
        "spec": {"deploymentPipelineRef": pipeline},
        "status": _status("Project", record, revision),
    }


def component_resource(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    record = component_record(spec, node, revision)
    workflow = component_workflow(spec, node, revision)
    component_type = {"kind": "ComponentType", "name": LONG_TYPES[component_kind(spec, node)]}
    return {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": _metadata(record, record["orgName"], record["uid"]),
        "spec": {
            "owner": {"projectName": record["projectName"]},
            "componentType": component_type,
            "autoDeploy": record["autoDeploy"],
            "workflow": {
                "kind": "ClusterWorkflow",
                "name": workflow["name"],
                "parameters": workflow["systemParameters"],
            },
        },
        "status": _status("Component", record, revision),
    }


def _endpoint(endpoint: dict[str, Any]) -> dict[str, Any]:
    if endpoint["type"] == "REST":
        return {**endpoint, "type": "HTTP"}
    return dict(endpoint)


def workload_resource(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    """The Workload of the service component ``node``."""
    namespace, project, name = node.path
    created = component_record(spec, node, revision)["createdAt"]
    repository = component_workflow(spec, node, revision)["systemParameters"]["repository"]
    commit = repository["revision"]["commit"]
    workload = service_workload(spec.seed, node.upstream_path, name, revision)
    metadata = {
        "name": workload_name(name),
        "namespace": namespace,
        "uid": _uid(spec, "workload", node),
        "creationTimestamp": created,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "Workload",
        "metadata": metadata,
        "spec": {
            "owner": {"projectName": project, "componentName": name},
            "container": {"image": f"{IMAGE_REGISTRY}/{namespace}/{name}:{commit[:12]}"},
            "endpoints": {key: _endpoint(value) for key, value in workload["endpoints"].items()},
        },
        "status": {},
    }
