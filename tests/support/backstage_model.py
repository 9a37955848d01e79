"""Backstage's published JSON schemas (``tests/fixtures/backstage-catalog-model``) and naming
rules, for checking translated entities exactly as Backstage's catalog would."""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).parent.parent / "fixtures" / "backstage-catalog-model"
KIND_SCHEMA_IDS = {
    "API": "ApiV1alpha1",
    "Component": "ComponentV1alpha1",
    "Domain": "DomainV1alpha1",
    "System": "SystemV1alpha1",
}
NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
NAMESPACE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")
KEY_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
KEY_PREFIX = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$")


@cache
def _registry() -> Registry[Any]:
    resources: list[tuple[str, Resource[Any]]] = []
    for path in SCHEMAS.rglob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], DRAFT7.create_resource(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(kind: str) -> Draft7Validator:
    schema = _registry().contents(KIND_SCHEMA_IDS[kind])
    return Draft7Validator(schema, registry=_registry())


def _key_problems(where: str, keys: Any) -> list[str]:
    problems = []
    for key in keys or {}:
        prefix, _, name = key.rpartition("/")
        if not KEY_NAME.match(name) or len(name) > 63 or (prefix and not KEY_PREFIX.match(prefix)):
            problems.append(f"{where} key {key!r} breaks the naming rules")
    return problems


def problems(entity: dict[str, Any]) -> list[str]:
    """Everything Backstage's schemas and naming rules reject in ``entity``; empty when valid."""
    found = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in _validator(entity["kind"]).iter_errors(entity)
    ]
    metadata = entity["metadata"]
    if not NAME.match(metadata["name"]) or len(metadata["name"]) > 63:
        found.append(f"name {metadata['name']!r} breaks the naming rules")
    namespace = metadata.get("namespace", "default")
    if not NAMESPACE.match(namespace) or len(namespace) > 63:
        found.append(f"namespace {namespace!r} breaks the naming rules")
    found += [
        f"tag {tag!r} breaks the rules" for tag in metadata.get("tags", []) if not TAG.match(tag)
    ]
    found += _key_problems("label", metadata.get("labels"))
    found += _key_problems("annotation", metadata.get("annotations"))
    return found
