"""Reading the simulator's namespace-era API like a client, checked against today's spec."""

import base64
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import orjson
import yaml

SCHEMAS_PATH = Path(__file__).parents[1] / "simulator" / "openchoreo_namespace_schemas.yaml"
SCHEMAS = yaml.safe_load(SCHEMAS_PATH.read_text())["components"]
MAX_PAGES = 10_000
"""A listing still going after this many pages is a loop (a test failure, not a hang)."""


def _closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to others, so a field the
    spec does not define fails validation at any depth."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


CLOSED = _closed(copy.deepcopy(SCHEMAS))


def assert_matches_spec(instance: Any, schema_name: str) -> None:
    """Valid against the namespace-era schema ``schema_name``, with no undefined field."""
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": CLOSED}
    jsonschema.validate(instance, root)


def body(response: httpx.Response, schema_name: str) -> Any:
    """The 200 body, validated against ``schema_name``."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    parsed = response.json()
    assert_matches_spec(parsed, schema_name)
    return parsed


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error body ``{error, code, details[]}`` of ``status`` and ``code``, validated."""
    assert response.status_code == status, response.text
    parsed: dict[str, Any] = response.json()
    assert_matches_spec(parsed, "ErrorResponse")
    assert set(parsed) == {"error", "code", "details"}
    assert parsed["code"] == code
    assert parsed["error"]
    return parsed


LIST_SCHEMAS = {
    "namespaces": "NamespaceList",
    "projects": "ProjectList",
    "components": "ComponentList",
    "workloads": "WorkloadList",
}


def list_schema(path: str) -> str:
    return LIST_SCHEMAS[path.rstrip("/").rsplit("/", 1)[-1]]


def pages(
    api: httpx.Client, path: str, limit: int | None = None, **params: str
) -> Iterator[dict[str, Any]]:
    """Every page of a listing, following ``nextCursor`` until it is absent."""
    query: dict[str, str | int] = dict(params)
    if limit is not None:
        query["limit"] = limit
    for _ in range(MAX_PAGES):
        page: dict[str, Any] = body(api.get(path, params=query), list_schema(path))
        yield page
        cursor = page["pagination"].get("nextCursor")
        if cursor is None:
            return
        assert cursor
        query["cursor"] = cursor
    raise AssertionError(f"{path}: still paging after {MAX_PAGES} pages")


def page_names(page: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in page["items"]]


def names(api: httpx.Client, path: str, limit: int | None = 100, **params: str) -> list[str]:
    return [name for page in pages(api, path, limit, **params) for name in page_names(page)]


def items(api: httpx.Client, path: str, limit: int | None = 100, **params: str) -> list[Any]:
    return [item for page in pages(api, path, limit, **params) for item in page["items"]]


def crawl(api: httpx.Client, limit: int) -> list[str]:
    """``namespace/project/component`` of every component reachable through the listings."""
    found = []
    for namespace in names(api, "/namespaces", limit):
        for component in items(api, f"/namespaces/{namespace}/components", limit):
            project = component["spec"]["owner"]["projectName"]
            found.append(f"{namespace}/{project}/{component['metadata']['name']}")
    return found


def decode_cursor(cursor: str) -> Any:
    """A filtered listing's cursor: base64url JSON (``{"c", "s"}``), unpadded."""
    assert "=" not in cursor
    return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
