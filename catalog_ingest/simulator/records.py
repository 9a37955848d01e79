"""The JSON bodies of organizations, projects and components, generated from a node.

Fields that identify an item (uid, type, creation time) are drawn from its path only; fields a
change may touch (description, status, commit...) are drawn from its path and revision.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from catalog_ingest.simulator.draws import Draws
from catalog_ingest.simulator.spec import DatasetSpec, Node
from catalog_ingest.simulator.workloads import service_workload

JSONDict = dict[str, Any]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
ADDED_EPOCH = datetime(2025, 6, 1, tzinfo=UTC)
STATUSES = (("Ready", 0.8), ("NotReady", 0.12), ("Unknown", 0.08))
SHORT_TYPES = {"service": "Service", "web": "WebApplication", "task": "ScheduledTask"}
LONG_TYPES = {
    "service": "deployment/service",
    "web": "deployment/web-application",
    "task": "cronjob/scheduled-task",
}
KIND_NOUNS = {"service": "service", "web": "web application", "task": "scheduled task"}
LONG_FORM_SHARE = 0.3
WORKFLOWS = {
    "service": ("docker", "google-cloud-buildpacks", "ballerina-buildpack"),
    "web": ("react", "docker"),
    "task": ("docker", "google-cloud-buildpacks"),
}


def _stable(spec: DatasetSpec, node: Node) -> Draws:
    return Draws(spec.seed, "stable", node.upstream_path)


def _revised(spec: DatasetSpec, node: Node, revision: int) -> Draws:
    return Draws(spec.seed, "revised", node.upstream_path, revision)


def _created_at(draws: Draws, node: Node) -> str:
    if node.serial is not None:
        moment = ADDED_EPOCH + timedelta(minutes=node.serial)
    else:
        moment = EPOCH + timedelta(seconds=draws.below(365 * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _uid(draws: Draws) -> str:
    raw = draws.hex(32)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("-"))


def _description(kind: str, node: Node, revision: int) -> str:
    text = f"{_title(node.name)}: simulated {kind} of {node.path[0]}"
    return text if revision == 0 else f"{text} (revision {revision})"


def org_record(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    stable, revised = _stable(spec, node), _revised(spec, node, revision)
    return {
        "name": node.name,
        "displayName": _title(node.name),
        "description": _description("organization", node, revision),
        "namespace": node.name,
        "createdAt": _created_at(stable, node),
        "status": revised.weighted(STATUSES),
    }


def project_record(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    stable, revised = _stable(spec, node), _revised(spec, node, revision)
    org, name = node.path
    return {
        "uid": _uid(stable),
        "name": name,
        "orgName": org,
        "displayName": _title(name),
        "description": _description("project", node, revision),
        "deploymentPipeline": revised.pick(("default-pipeline", "staged-pipeline")),
        "createdAt": _created_at(stable, node),
        "status": revised.weighted(STATUSES),
    }


def component_kind(spec: DatasetSpec, node: Node) -> str:
    """``service``, ``web`` or ``task``: stable across revisions."""
    unit = Draws(spec.seed, "kind", node.upstream_path).unit()
    if unit < spec.service_share:
        return "service"
    return "web" if (unit - spec.service_share) < (1.0 - spec.service_share) / 2 else "task"


def _uses_long_form(spec: DatasetSpec, node: Node, draws: Draws) -> bool:
    """A seeded mix, with every fifth generated component forced to each form."""
    if node.indexes is not None:
        i, j, k = node.indexes
        ordinal = (i * spec.projects + j) * spec.components + k
        if ordinal % 5 == 1:
            return True
        if ordinal % 5 == 3:
            return False
    return draws.unit() < LONG_FORM_SHARE


def component_record(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    """A component as listings show it: no ``componentWorkflow``, no ``workload``."""
    stable, revised = _stable(spec, node), _revised(spec, node, revision)
    org, project, name = node.path
    kind = component_kind(spec, node)
    uid, created = _uid(stable), _created_at(stable, node)
    types = LONG_TYPES if _uses_long_form(spec, node, stable) else SHORT_TYPES
    return {
        "uid": uid,
        "name": name,
        "displayName": _title(name),
        "description": _description(KIND_NOUNS[kind], node, revision),
        "type": types[kind],
        "projectName": project,
        "orgName": org,
        "createdAt": created,
        "status": revised.weighted(STATUSES),
        "autoDeploy": revised.unit() < 0.5,
    }


def component_workflow(spec: DatasetSpec, node: Node, revision: int) -> JSONDict:
    org, project, name = node.path
    draws = Draws(spec.seed, "workflow", node.upstream_path)
    workflow = draws.pick(WORKFLOWS[component_kind(spec, node)])
    app_path = draws.pick(("/", f"/{name}", f"/services/{name}"))
    branch = draws.weighted((("main", 0.8), ("develop", 0.15), ("release", 0.05)))
    commit = _revised(spec, node, revision).hex(40)
    return {
        "name": workflow,
        "systemParameters": {
            "repository": {
                "url": f"https://github.com/{org}/{project}",
                "appPath": app_path,
                "revision": {"branch": branch, "commit": commit},
            }
        },
    }


def component_detail(
    spec: DatasetSpec, node: Node, revision: int, include_workload: bool
) -> JSONDict:
    """The detail GET: the list form plus the workflow, and the workload of services on request."""
    detail = component_record(spec, node, revision)
    detail["componentWorkflow"] = component_workflow(spec, node, revision)
    if include_workload and component_kind(spec, node) == "service":
        detail["workload"] = service_workload(spec.seed, node.upstream_path, node.name, revision)
    return detail
