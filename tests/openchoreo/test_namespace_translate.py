"""Namespace-era resources become the entities the reference plugin makes, valid for Backstage;
every response is validated against the contract."""

from typing import Any

import httpx
import pytest

from catalog_ingest.providers.openchoreo.client import OpenChoreoClient
from catalog_ingest.providers.openchoreo.namespace_client import NamespaceClient
from catalog_ingest.providers.openchoreo.namespace_payloads import (
    Component,
    Namespace,
    Project,
    Workload,
)
from catalog_ingest.providers.openchoreo.namespace_translate import (
    NamespaceTranslator,
    component_tags,
    owner_ref,
)
from catalog_ingest.providers.openchoreo.upstream_errors import (
    CursorRejectedError,
    TransientUpstreamError,
    UpstreamContractError,
)
from tests.support.backstage_model import problems

CREATED = "2025-01-06T10:00:00Z"
READY = {
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "R", "lastTransitionTime": CREATED}
    ]
}
NAMESPACE = Namespace.model_validate(
    {
        "metadata": {
            "name": "acme",
            "annotations": {"openchoreo.dev/display-name": "ACME Corp"},
            "creationTimestamp": CREATED,
        },
        "status": {"phase": "Active"},
    }
)
PROJECT = Project.model_validate(
    {
        "apiVersion": "openchoreo.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "shop", "namespace": "acme", "uid": "p-1"},
        "spec": {"deploymentPipelineRef": {"name": "default"}},
        "status": READY,
    }
)
COMPONENT = Component.model_validate(
    {
        "metadata": {
            "name": "orders",
            "namespace": "acme",
            "uid": "c-1",
            "creationTimestamp": CREATED,
            "annotations": {"openchoreo.dev/description": "Takes orders"},
        },
        "spec": {
            "owner": {"projectName": "shop"},
            "componentType": {"kind": "ComponentType", "name": "deployment/service"},
            "workflow": {
                "name": "docker",
                "parameters": {
                    "repository": {
                        "url": "https://github.com/acme/orders",
                        "revision": {"branch": "main"},
                    }
                },
            },
        },
        "status": READY,
    }
)
WORKLOAD = Workload.model_validate(
    {
        "metadata": {"name": "orders-workload", "namespace": "acme"},
        "spec": {
            "owner": {"projectName": "shop", "componentName": "orders"},
            "container": {"image": "registry.example.com/acme/orders:1"},
            "endpoints": {
                "rest": {
                    "type": "HTTP",
                    "port": 8080,
                    "visibility": ["external"],
                    "schema": {"content": "openapi: 3.0.0"},
                },
                "rpc": {"type": "gRPC", "port": 9090},
                "events": {"type": "Websocket", "port": 9091},
                "db": {"type": "TCP", "port": 5432},
            },
        },
    }
)
TRANSLATOR = NamespaceTranslator(owner_ref("platform-team"))
OWNER = "group:default/platform-team"


def test_a_namespace_is_a_domain_in_the_default_namespace() -> None:
    assert TRANSLATOR.domain(NAMESPACE) == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Domain",
        "metadata": {
            "name": "acme",
            "namespace": "default",
            "title": "ACME Corp",
            "description": "acme",
            "tags": ["openchoreo", "namespace", "domain"],
            "annotations": {
                "openchoreo.io/namespace": "acme",
                "openchoreo.io/created-at": CREATED,
                "openchoreo.io/status": "Active",
            },
            "labels": {"openchoreo.io/managed": "true"},
        },
        "spec": {"owner": OWNER},
    }


def test_a_project_is_a_system_in_its_namespace_within_its_domain() -> None:
    assert TRANSLATOR.system(PROJECT, "acme") == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {
            "name": "shop",
            "namespace": "acme",
            "title": "shop",
            "description": "shop",
            "tags": ["openchoreo", "project"],
            "annotations": {
                "openchoreo.io/project-id": "shop",
                "openchoreo.io/project-uid": "p-1",
                "openchoreo.io/namespace": "acme",
            },
            "labels": {"openchoreo.io/managed": "true"},
        },
        "spec": {"owner": OWNER, "domain": "default/acme"},
    }


def test_a_component_with_its_workload_gives_the_component_and_one_api_per_api_endpoint() -> None:
    component, *apis = TRANSLATOR.component(COMPONENT, "acme", WORKLOAD)
    assert component == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "orders",
            "title": "orders",
            "namespace": "acme",
            "description": "Takes orders",
            "tags": ["openchoreo", "component", "deployment", "service", "deployment-service"],
            "annotations": {
                "openchoreo.io/component": "orders",
                "openchoreo.io/component-uid": "c-1",
                "openchoreo.io/component-type": "deployment/service",
                "openchoreo.io/component-type-kind": "ComponentType",
                "openchoreo.io/project": "shop",
                "openchoreo.io/namespace": "acme",
                "openchoreo.io/created-at": CREATED,
                "openchoreo.io/status": "Ready",
                "backstage.io/source-location": "url:https://github.com/acme/orders",
                "openchoreo.io/branch": "main",
            },
            "labels": {"openchoreo.io/managed": "true"},
        },
        "spec": {
            "type": "deployment/service",
            "lifecycle": "ready",
            "owner": OWNER,
            "system": "shop",
            "providesApis": ["orders-rest", "orders-rpc"],
        },
    }
    assert [api["metadata"]["name"] for api in apis] == ["orders-rest", "orders-rpc"]
    rest = apis[0]
    assert rest["metadata"] == {
        "name": "orders-rest",
        "namespace": "acme",
        "title": "orders rest API",
        "description": "HTTP endpoint for orders service on port 8080",
        "tags": ["openchoreo", "api", "http"],
        "annotations": {
            "openchoreo.io/component": "orders",
            "openchoreo.io/endpoint-name": "rest",
            "openchoreo.io/endpoint-type": "HTTP",
            "openchoreo.io/endpoint-port": "8080",
            "openchoreo.io/endpoint-visibility": "external",
            "openchoreo.io/project": "shop",
            "openchoreo.io/namespace": "acme",
        },
        "labels": {"openchoreo.io/managed": "true"},
    }
    assert rest["spec"] == {
        "type": "openapi",
        "lifecycle": "production",
        "owner": OWNER,
        "system": "shop",
        "definition": "openapi: 3.0.0",
    }
    assert apis[1]["spec"]["type"] == "grpc"
    assert apis[1]["spec"]["definition"] == "No schema available"
    for entity in [
        TRANSLATOR.domain(NAMESPACE),
        TRANSLATOR.system(PROJECT, "acme"),
        component,
        *apis,
    ]:
        assert problems(entity) == [], entity["metadata"]["name"]


def test_a_component_without_a_workload_or_readiness_has_no_apis_and_is_not_ready() -> None:
    data: dict[str, Any] = COMPONENT.model_dump(by_alias=True)
    data["status"] = {"conditions": []}
    del data["spec"]["workflow"]
    [component] = TRANSLATOR.component(Component.model_validate(data), "acme", None)
    assert "providesApis" not in component["spec"]
    assert component["spec"]["lifecycle"] == "not ready"
    assert component["metadata"]["annotations"]["openchoreo.io/status"] == "Not Ready"
    assert "backstage.io/source-location" not in component["metadata"]["annotations"]
    assert problems(component) == []


@pytest.mark.parametrize(
    ("owner", "ref"),
    [
        (None, "group:default/openchoreo-users"),
        ("platform", "group:default/platform"),
        ("user:default/jane", "user:default/jane"),
    ],
)
def test_the_owner_is_qualified_as_the_reference_plugin_does(owner: str | None, ref: str) -> None:
    assert owner_ref(owner) == ref


@pytest.mark.parametrize(
    ("component_type", "tags"),
    [
        (
            "deployment/service",
            ["openchoreo", "component", "deployment", "service", "deployment-service"],
        ),
        ("cronjob/nightly", ["openchoreo", "component", "cronjob", "nightly", "cronjob-nightly"]),
        ("proxy/api", ["openchoreo", "component", "proxy-api"]),
    ],
)
def test_component_tags_follow_the_reference(component_type: str, tags: list[str]) -> None:
    assert component_tags(component_type) == tags


def _client(handler: Any) -> NamespaceClient:
    http = OpenChoreoClient(
        "http://oc.example/api/v1", transport=httpx.MockTransport(handler), sleep=lambda _s: None
    )
    return NamespaceClient(http)


def test_a_listing_that_breaks_the_contract_is_an_error_naming_the_request_and_field() -> None:
    body = {"items": [{"metadata": {"uid": "x"}}], "pagination": {}}
    client = _client(lambda request: httpx.Response(200, json=body))
    with pytest.raises(UpstreamContractError) as failure:
        client.namespaces(limit=10)
    assert str(failure.value) == (
        "GET /namespaces: response breaks the OpenChoreo contract: "
        "items.0.metadata.name: Field required"
    )


def test_a_component_without_its_project_breaks_the_contract() -> None:
    item = {"metadata": {"name": "c"}, "spec": {"componentType": {"name": "deployment/service"}}}
    body = {"items": [item], "pagination": {}}
    client = _client(lambda request: httpx.Response(200, json=body))
    with pytest.raises(UpstreamContractError, match=r"items\.0\.spec\.owner: Field required"):
        client.components("acme", limit=10)


def test_a_500_to_a_request_with_a_cursor_is_a_rejected_cursor_not_retried() -> None:
    calls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(
            500, json={"error": "Internal server error", "code": "INTERNAL_ERROR"}
        )

    client = _client(handler)
    with pytest.raises(CursorRejectedError, match="HTTP 500 \\(INTERNAL_ERROR: Internal server"):
        client.projects("acme", limit=500, cursor="abc")
    assert len(calls) == 1
    assert calls[0].params["limit"] == "100" and calls[0].params["cursor"] == "abc"
    with pytest.raises(TransientUpstreamError, match="after 4 attempts"):
        client.projects("acme", limit=5)  # without a cursor, a 500 is retried as transient
