"""A simulator served over real HTTP on loopback, and helpers to read it like a client."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

from catalog_ingest.simulator.app import create_app, simulator_of
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import Simulator, SimulatorConfig

SMALL = DatasetSpec(orgs=3, projects=3, components=12, seed=11)
CONTRACT_PATH = Path(__file__).parents[1] / "simulator" / "openchoreo_schemas.yaml"
CONTRACT = yaml.safe_load(CONTRACT_PATH.read_text())


@dataclass
class Running:
    url: str
    api: httpx.Client
    """Base URL ``<url>/api/v1``."""
    control: httpx.Client
    """Base URL ``<url>``: ``/_control/...`` and ``/health``."""
    dataset: Dataset
    simulator: Simulator

    def set_faults(self, **settings: Any) -> None:
        response = self.control.post("/_control/faults", json=settings)
        assert response.status_code == 200, response.text

    def stats(self) -> dict[str, Any]:
        response = self.control.get("/_control/stats")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def running(
    spec: DatasetSpec = SMALL,
    config: SimulatorConfig | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Iterator[Running]:
    dataset = Dataset(spec)
    app = create_app(dataset, config)
    with (
        serve_in_thread(app) as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=timeout) as api,
        httpx.Client(base_url=url, headers=headers, timeout=timeout) as control,
    ):
        yield Running(url, api, control, dataset, simulator_of(app))


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"], str)
    assert body["error"]
    code: str = body["code"]
    return code


def pages(api: httpx.Client, path: str, limit: int) -> Iterator[dict[str, Any]]:
    """Every page of a listing, following ``continue`` until ``hasMore`` is false."""
    token = ""
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if token:
            params["continue"] = token
        page: dict[str, Any] = data(api.get(path, params=params))
        yield page
        if not page["metadata"]["hasMore"]:
            return
        token = page["metadata"]["continue"]
        assert token


def names(api: httpx.Client, path: str, limit: int = 100) -> list[str]:
    return [item["name"] for page in pages(api, path, limit) for item in page["items"]]


def crawl(api: httpx.Client, limit: int) -> list[str]:
    """Upstream paths of every component reachable through the listings."""
    found = []
    for org in names(api, "/orgs", limit):
        for project in names(api, f"/orgs/{org}/projects", limit):
            components = names(api, f"/orgs/{org}/projects/{project}/components", limit)
            found += [f"{org}/{project}/{name}" for name in components]
    return found


def assert_matches_schema(instance: Any, schema_name: str) -> None:
    """Valid against the contract's schema, and no field the contract does not define."""
    schemas = CONTRACT["components"]["schemas"]
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": CONTRACT["components"]}
    jsonschema.validate(instance, root)
    assert set(instance) <= set(schemas[schema_name]["properties"]), schema_name
