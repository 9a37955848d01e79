"""OpenChoreo resources become valid Backstage entities, with the reference's annotations."""

from typing import Any

import pytest

from catalog_ingest.engine.entity_preparation import validate_entity
from catalog_ingest.providers.openchoreo.payloads import Component, Organization, Project
from catalog_ingest.providers.openchoreo.translate import (
    Translator,
    api_name,
    backstage_component_type,
    canonical_type,
    dns_label,
    origin_of,
)
from tests.support.backstage_model import problems

ORG = Organization.model_validate(
    {
        "name": "acme",
        "displayName": "ACME Corp",
        "description": "Everything",
        "namespace": "acme",
        "createdAt": "2025-01-02T03:04:05Z",
        "status": "Ready",
    }
)
PROJECT = Project.model_validate(
    {"uid": "p-1", "name": "shop", "orgName": "acme", "createdAt": "2025-01-02T03:04:05Z"}
)
LISTED_SERVICE = {
    "uid": "c-1",
    "name": "orders",
    "type": "deployment/service",
    "projectName": "shop",
    "orgName": "acme",
    "createdAt": "2025-02-03T04:05:06Z",
    "status": "Ready",
}
DETAILED_SERVICE = LISTED_SERVICE | {
    "componentWorkflow": {
        "name": "docker",
        "systemParameters": {
            "repository": {
                "url": "https://github.com/acme/orders",
                "appPath": "/",
                "revision": {"branch": "main", "commit": "abc"},
            }
        },
    },
    "workload": {
        "name": "orders",
        "type": "Service",
        "endpoints": {
            "rest": {"type": "REST", "port": 8080, "schema": {"content": "openapi: 3.0.0"}},
            "events": {"type": "Websocket", "port": 9090},
            "raw": {"type": "TCP", "port": 5432},
        },
    },
}


def translator(strategy: Any = "default") -> Translator:
    return Translator(default_owner="platform-team", namespace_strategy=strategy)


def test_an_organization_becomes_a_domain() -> None:
    domain = translator().domain(ORG)
    assert domain == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Domain",
        "metadata": {
            "name": "acme",
            "namespace": "default",
            "title": "ACME Corp",
            "description": "Everything",
            "tags": ["openchoreo", "organization", "domain"],
            "labels": {"openchoreo.io/managed": "true"},
            "annotations": {
                "openchoreo.io/organization": "acme",
                "openchoreo.io/namespace": "acme",
                "openchoreo.io/created-at": "2025-01-02T03:04:05Z",
                "openchoreo.io/status": "Ready",
            },
        },
        "spec": {"owner": "platform-team"},
    }


def test_a_project_becomes_a_system_in_its_domain() -> None:
    system = translator().system(PROJECT, "acme")
    assert system["kind"] == "System"
    assert system["spec"] == {"owner": "platform-team", "domain": "acme"}
    assert system["metadata"]["title"] == "shop"
    assert system["metadata"]["annotations"] == {
        "openchoreo.io/project-id": "shop",
        "openchoreo.io/project-uid": "p-1",
        "openchoreo.io/organization": "acme",
        "openchoreo.io/created-at": "2025-01-02T03:04:05Z",
    }


def test_a_service_with_its_detail_becomes_a_component_and_one_api_per_endpoint() -> None:
    listed = Component.model_validate(LISTED_SERVICE)
    detail = Component.model_validate(DETAILED_SERVICE)
    component, *apis = translator().component(listed, "acme", "shop", detail)

    assert component["spec"] == {
        "type": "service",
        "lifecycle": "production",
        "owner": "platform-team",
        "system": "shop",
        "providesApis": ["orders-events", "orders-raw", "orders-rest"],
    }
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/source-location"] == "url:https://github.com/acme/orders"
    assert annotations["openchoreo.io/branch"] == "main"
    assert annotations["openchoreo.io/component-type"] == "deployment/service"
    assert component["metadata"]["tags"] == ["openchoreo", "component", "service"]
    by_name = {api["metadata"]["name"]: api for api in apis}
    assert {name: api["spec"]["type"] for name, api in by_name.items()} == {
        "orders-events": "asyncapi",
        "orders-raw": "tcp",
        "orders-rest": "openapi",
    }
    assert by_name["orders-rest"]["spec"]["definition"] == "openapi: 3.0.0"
    assert by_name["orders-events"]["spec"]["definition"].startswith("No schema available")
    assert (
        by_name["orders-rest"]["metadata"]["annotations"]["openchoreo.io/endpoint-port"] == "8080"
    )
    assert origin_of(by_name["orders-rest"]) == "acme/shop/orders/rest"
    assert origin_of(component) == "acme/shop/orders"


def test_without_its_detail_a_service_is_built_from_the_listing_without_apis() -> None:
    [component] = translator().component(Component.model_validate(LISTED_SERVICE), "acme", "shop")
    assert "providesApis" not in component["spec"]
    assert "backstage.io/source-location" not in component["metadata"]["annotations"]


@pytest.mark.parametrize(
    ("upstream", "canonical", "spec_type"),
    [
        ("Service", "Service", "service"),
        ("deployment/service", "Service", "service"),
        ("WebApplication", "WebApplication", "website"),
        ("deployment/web-application", "WebApplication", "website"),
        ("ScheduledTask", "ScheduledTask", "scheduledtask"),
        ("cronjob/scheduled-task", "ScheduledTask", "scheduledtask"),
        ("deployment/worker", "worker", "worker"),
    ],
)
def test_both_type_forms_mean_the_same(upstream: str, canonical: str, spec_type: str) -> None:
    assert canonical_type(upstream) == canonical
    assert backstage_component_type(upstream) == spec_type


@pytest.mark.parametrize(
    ("status", "lifecycle"),
    [
        ("Ready", "production"),
        ("NotReady", "experimental"),
        ("Unknown", "experimental"),
        (None, "experimental"),
    ],
)
def test_lifecycle_follows_the_status(status: str | None, lifecycle: str) -> None:
    listed = Component.model_validate(LISTED_SERVICE | {"status": status})
    [component] = translator().component(listed, "acme", "shop")
    assert component["spec"]["lifecycle"] == lifecycle


def test_the_organization_strategy_puts_each_organization_in_its_own_namespace() -> None:
    entities = [
        translator("organization").domain(ORG),
        translator("organization").system(PROJECT, "acme"),
        *translator("organization").component(
            Component.model_validate(LISTED_SERVICE),
            "acme",
            "shop",
            Component.model_validate(DETAILED_SERVICE),
        ),
    ]
    assert {entity["metadata"]["namespace"] for entity in entities} == {"acme"}
    assert dns_label("Team_A.Prod") == "team-a-prod"


def test_api_names_too_long_for_backstage_are_shortened_stably() -> None:
    long_name = api_name("c" * 40, "e" * 40)
    assert len(long_name) <= 63
    assert long_name == api_name("c" * 40, "e" * 40)
    assert long_name != api_name("c" * 40, "e" * 39 + "f")


def test_every_translated_entity_passes_backstages_schemas_and_the_engines_rules() -> None:
    entities = [
        translator().domain(ORG),
        translator().system(PROJECT, "acme"),
        *translator().component(
            Component.model_validate(LISTED_SERVICE),
            "acme",
            "shop",
            Component.model_validate(DETAILED_SERVICE),
        ),
        *translator().component(
            Component.model_validate(LISTED_SERVICE | {"type": "WebApplication", "status": None}),
            "acme",
            "shop",
        ),
    ]
    for entity in entities:
        assert problems(entity) == [], entity["metadata"]["name"]
        validate_entity(entity)
