"""Helpers of the source tests: Backstage entities and the files that hold them."""

import json
from pathlib import Path
from typing import Any

import yaml


def component(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A valid Backstage Component."""
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", **spec},
    }


def ref(name: str, namespace: str = "default") -> str:
    return f"component:{namespace}/{name}"


def write_yaml(path: Path, *documents: Any) -> Path:
    """A multi-document YAML file of ``documents``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path
