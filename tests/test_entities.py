"""Backstage naming rules, refs, location stamping and content hashes."""

from typing import Any

import pytest

from catalog_ingest.engine.entity_preparation import (
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
    InvalidEntityError,
    entity_ref,
    prepare_entity,
    prepare_page,
)


def component(name: str = "svc", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, **metadata},
        "spec": {"type": "service", "owner": "team", "lifecycle": "production"},
    }


def test_refs_lower_case_kind_and_namespace_but_keep_the_name() -> None:
    assert entity_ref("Component", "Team-A", "MyService") == "component:team-a/MyService"


def test_a_missing_namespace_becomes_default_in_ref_and_body() -> None:
    prepared = prepare_entity(component("svc"), "p")
    assert prepared.ref == "component:default/svc"
    assert prepared.body["metadata"]["namespace"] == "default"


def test_stamping_adds_both_location_annotations_and_keeps_existing_ones() -> None:
    prepared = prepare_entity(component(annotations={"x/y": "z"}), "openchoreo")
    annotations = prepared.body["metadata"]["annotations"]
    assert annotations == {
        "x/y": "z",
        MANAGED_BY_LOCATION: "provider:openchoreo",
        MANAGED_BY_ORIGIN_LOCATION: "provider:openchoreo",
    }


def test_stamping_does_not_mutate_the_providers_entity() -> None:
    entity = component()
    prepare_entity(entity, "p")
    assert entity == component()


def test_the_hash_ignores_key_order_and_follows_content() -> None:
    a = component(description="one", title="t")
    b = {
        "spec": a["spec"],
        "metadata": {"title": "t", "description": "one", "name": "svc"},
        "kind": "Component",
        "apiVersion": "backstage.io/v1alpha1",
    }
    assert prepare_entity(a, "p").content_hash == prepare_entity(b, "p").content_hash
    changed = component(description="two", title="t")
    assert prepare_entity(changed, "p").content_hash != prepare_entity(a, "p").content_hash


@pytest.mark.parametrize(
    ("entity", "reason"),
    [
        (component("-leading-dash"), "metadata.name"),
        (component("a" * 64), "metadata.name"),
        (component("has space"), "metadata.name"),
        (component("ok", namespace="Upper"), "metadata.namespace"),
        ({**component(), "kind": "9lives"}, "kind"),
        ({**component(), "apiVersion": "Not Valid"}, "apiVersion"),
        ({**component(), "metadata": "nope"}, "metadata must be an object"),
        (component("ok", annotations=["a"]), "metadata.annotations"),
        ("not an object", "JSON object"),
    ],
)
def test_entities_breaking_backstage_rules_are_rejected_with_the_reason(
    entity: Any, reason: str
) -> None:
    with pytest.raises(InvalidEntityError, match=reason):
        prepare_entity(entity, "p")


def test_a_page_rejects_bad_entities_one_by_one_and_keeps_the_rest() -> None:
    page = prepare_page([component("a"), component("bad name"), component("b")], "p")
    assert [p.ref for p in page.entities] == ["component:default/a", "component:default/b"]
    assert [r.index for r in page.rejections] == [1]
    assert page.duplicates == []


def test_a_ref_repeated_within_a_page_keeps_the_first_version_and_reports_the_repeat() -> None:
    page = prepare_page([component("a", title="1"), component("a", title="2")], "p")
    assert [p.body["metadata"]["title"] for p in page.entities] == ["1"]
    [(kept, dropped)] = page.duplicates
    assert (kept.body["metadata"]["title"], dropped.body["metadata"]["title"]) == ("1", "2")
