"""The OpenChoreo provider on the namespace-era API: wiring, an independent crawl of what a pass
must yield, and the request count a pass must make."""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from catalog_ingest.contracts.provider import Entity
from catalog_ingest.engine.entity_preparation import entity_ref
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo.entity_provider import OpenChoreoProvider
from catalog_ingest.providers.openchoreo.namespace_payloads import (
    Component,
    Namespace,
    Project,
    Workload,
)
from catalog_ingest.providers.openchoreo.namespace_translate import (
    NamespaceTranslator,
    owner_ref,
)
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from tests.support.engine_harness import PROVIDER
from tests.support.openchoreo_catalog import OWNER


class RecordingTransport(httpx.HTTPTransport):
    """An HTTP transport that keeps the URL of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return super().handle_request(request)


def namespace_provider_for(
    url: str,
    *,
    token: str | None = None,
    generation: str = "namespaces",
    chunk_size: int = 7,
    transport: httpx.BaseTransport | None = None,
    options: dict[str, Any] | None = None,
    **settings: Any,
) -> OpenChoreoProvider:
    """A provider on the simulator at ``url``; small pages so every listing spans several."""
    values = {
        "base_url": f"{url}/api/v1",
        "token": token,
        "api_generation": generation,
        "default_owner": OWNER,
        "max_retry_delay_seconds": 0.05,
        "timeout_seconds": 5,
    } | settings
    pacing = {"burst_length": 300, "chunk_size": chunk_size, "batch_delay_ms": 0}
    pacing |= {"max_concurrent_requests": 8} | (options or {})
    return OpenChoreoProvider(
        PROVIDER,
        OpenChoreoSettings.model_validate(values),
        ProviderOptions.model_validate(pacing),
        transport=transport,
    )


def _all(api: httpx.Client, path: str, **params: str) -> Iterator[dict[str, Any]]:
    """Every item of a listing, following ``nextCursor``."""
    cursor: str | None = None
    while True:
        query: dict[str, str | int] = {"limit": 100, **params}
        if cursor:
            query["cursor"] = cursor
        response = api.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        yield from body["items"]
        cursor = body["pagination"].get("nextCursor")
        if not cursor:
            return


@dataclass
class Crawl:
    """The installation as the listings show it, read with a plain HTTP client."""

    namespaces: list[Namespace] = field(default_factory=list)
    projects: dict[str, list[Project]] = field(default_factory=dict)
    components: dict[str, list[Component]] = field(default_factory=dict)
    workloads: dict[str, list[Workload]] = field(default_factory=dict)


def crawl(api: httpx.Client) -> Crawl:
    found = Crawl()
    for item in _all(api, "/namespaces"):
        ns = Namespace.model_validate(item)
        found.namespaces.append(ns)
        base = f"/namespaces/{ns.name}"
        found.projects[ns.name] = [Project.model_validate(p) for p in _all(api, f"{base}/projects")]
        found.components[ns.name] = [
            Component.model_validate(c) for c in _all(api, f"{base}/components")
        ]
        found.workloads[ns.name] = [
            Workload.model_validate(w) for w in _all(api, f"{base}/workloads")
        ]
    return found


def _ref(entity: Entity) -> str:
    metadata = entity["metadata"]
    return entity_ref(entity["kind"], metadata.get("namespace") or "default", metadata["name"])


def expected_namespace_catalog(api: httpx.Client) -> dict[str, Entity]:
    """What a complete pass must store: every listed item translated, each component with its
    first workload by name (as the reference plugin takes it), the first entity of a ref kept."""
    translator = NamespaceTranslator(owner_ref(OWNER))
    found = crawl(api)
    catalog: dict[str, Entity] = {}

    def keep(entities: list[Entity]) -> None:
        for entity in entities:
            catalog.setdefault(_ref(entity), entity)

    for ns in found.namespaces:
        keep([translator.domain(ns)])
        keep([translator.system(project, ns.name) for project in found.projects[ns.name]])
        first: dict[str, Workload] = {}
        for workload in sorted(found.workloads[ns.name], key=lambda w: w.name):
            first.setdefault(workload.component, workload)
        for component in found.components[ns.name]:
            keep(translator.component(component, ns.name, first.get(component.name)))
    return catalog


def pages(items: int, limit: int) -> int:
    """Requests to read a listing of ``items`` at ``limit`` per page (an empty one costs one)."""
    return max(1, math.ceil(items / limit))


def requests_of_a_pass(api: httpx.Client, limit: int, probe: bool = False) -> int:
    """The README's formula, for a pass in one burst whose workload listings are in their
    components' order (no lookups): the namespace listing, then for each namespace its
    projects, its workloads twice (the order scan and the join; once when they fit in one
    page) and its components."""
    found = crawl(api)
    total = int(probe) + pages(len(found.namespaces), limit)
    for ns in found.namespaces:
        workload_pages = pages(len(found.workloads[ns.name]), limit)
        total += pages(len(found.projects[ns.name]), limit)
        total += workload_pages if workload_pages == 1 else 2 * workload_pages
        total += pages(len(found.components[ns.name]), limit)
    return total
