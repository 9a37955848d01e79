"""One page of the namespace-era walk: listings read through a per-burst cache, entities built.

The walk re-reads a listing's page whenever it resumes at it (the namespace listing once per
namespace, the join's workload page once per page of components); the reader keeps the last
page of each listing for the burst, so a page costs one request however often it is read.
"""

from dataclasses import dataclass, field
from typing import Any

from catalog_ingest.contracts.provider import Deferred, Entity, JSONValue, Page
from catalog_ingest.providers.openchoreo.listing import Listing
from catalog_ingest.providers.openchoreo.namespace_client import (
    MAX_LIMIT,
    NamespaceClient,
    NamespacePage,
)
from catalog_ingest.providers.openchoreo.namespace_resolver import defer_lookup
from catalog_ingest.providers.openchoreo.namespace_translate import NamespaceTranslator
from catalog_ingest.providers.openchoreo.namespace_walk import (
    Batch,
    Kind,
    NamespaceCursor,
    step,
)

MAX_FETCHES_PER_PAGE = 100
"""Listing pages one ``next`` may read to fill a page."""


@dataclass
class NamespaceReader:
    """Reads namespace-era listings for one burst, keeping the last page of each."""

    client: NamespaceClient
    limit: int
    _cache: dict[Kind, tuple[tuple[str | None, str | None], Listing]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.limit, MAX_LIMIT))

    def fetch(self, kind: Kind, namespace: str | None, cursor: str | None) -> Listing:
        key = (namespace, cursor)
        cached = self._cache.get(kind)
        if cached is not None and cached[0] == key:
            return cached[1]
        page = self._page(kind, namespace, cursor)
        listing = Listing(
            [item.name for item in page.items], page.items, page.next_cursor, page.has_more
        )
        self._cache[kind] = (key, listing)
        return listing

    def _page(self, kind: Kind, namespace: str | None, cursor: str | None) -> NamespacePage[Any]:
        client, limit = self.client, self.limit
        if kind == "namespaces":
            return client.namespaces(limit, cursor)
        assert namespace is not None
        if kind == "projects":
            return client.projects(namespace, limit, cursor)
        if kind == "workloads":
            return client.workloads(namespace, limit, cursor)
        return client.components(namespace, limit, cursor)


def namespace_page(
    reader: NamespaceReader, translator: NamespaceTranslator, cursor: JSONValue
) -> Page:
    """The next page of the walk after ``cursor`` (``None``: from the start)."""
    result = step(
        NamespaceCursor.load(cursor),
        reader.fetch,
        want=reader.limit,
        max_fetches=MAX_FETCHES_PER_PAGE,
    )
    entities: list[Entity] = []
    deferred: list[Deferred] = []
    for batch in result.batches:
        entities += _entities(translator, batch)
        if batch.kind == "lookups":
            deferred += [defer_lookup(str(batch.namespace), c) for c in batch.items]
    if result.cursor is None:
        return Page(done=True, entities=entities, deferred=deferred)
    return Page(done=False, entities=entities, cursor=result.cursor.dump(), deferred=deferred)


def _entities(translator: NamespaceTranslator, batch: Batch) -> list[Entity]:
    namespace = str(batch.namespace)
    if batch.kind == "domains":
        return [translator.domain(ns) for ns in batch.items]
    if batch.kind == "systems":
        return [translator.system(project, namespace) for project in batch.items]
    if batch.kind == "components":
        return [
            entity
            for component, workload in batch.items
            for entity in translator.component(component, namespace, workload)
        ]
    return []  # lookups: their entities come with the deferred items


def describe_namespace_cursor(cursor: JSONValue) -> str:
    """Where a namespace-era cursor stands, e.g. ``components of acme``."""
    walk = NamespaceCursor.load(cursor)
    if walk.stage is None:
        return "namespaces" + (f" after {walk.namespaces.after}" if walk.namespaces.after else "")
    stage = {"p": "projects", "w": "workloads (order check)", "c": "components"}[walk.stage]
    return f"{stage} of {walk.namespaces.after}"
