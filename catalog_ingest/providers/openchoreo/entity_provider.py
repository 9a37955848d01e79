"""The OpenChoreo incremental provider: the walk, the client and the translator together."""

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from catalog_ingest.contracts.provider import (
    BurstInfo,
    Deferred,
    Entity,
    Gate,
    JSONValue,
    Page,
    Resolve,
)
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo.client import (
    MAX_LIMIT,
    OpenChoreoClient,
    RetryPolicy,
    path_of,
)
from catalog_ingest.providers.openchoreo.payloads import Component, Organization, Project
from catalog_ingest.providers.openchoreo.resolver import defer_service, resolve_service
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.providers.openchoreo.translate import Translator, is_service, origin_of
from catalog_ingest.providers.openchoreo.upstream_errors import UpstreamContractError
from catalog_ingest.providers.openchoreo.walk import Emitted, Listing, WalkCursor, step

COMPONENTS = 2
"""Depth of the components listing in the walk."""
MAX_FETCHES_PER_PAGE = 100
"""Listing calls one ``next`` may make to fill a page (parent pages are cached per burst)."""

_MODELS: tuple[type[Organization], type[Project], type[Component]] = (
    Organization,
    Project,
    Component,
)


class PaginationUnsupportedError(UpstreamContractError):
    """The API does not page its listings with ``limit`` / ``continue``."""


@dataclass
class BurstContext:
    """What one burst holds: the client and a cache of parent pages."""

    client: OpenChoreoClient
    limit: int
    _cache: dict[int, tuple[tuple[Any, ...], Listing]] = field(default_factory=dict)

    def fetch(self, depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        """One listing page; the last page of each depth is kept, since the walk re-reads a
        parent's page for every child it finishes."""
        key = (parents, token)
        cached = self._cache.get(depth)
        if cached is not None and cached[0] == key:
            return cached[1]
        path = path_of(*_listing_segments(depth, parents))
        page = self.client.list_page(path, _MODELS[depth], self.limit, token)
        listing = Listing(
            [item.name for item in page.items], page.items, page.continue_token, page.has_more
        )
        self._cache[depth] = (key, listing)
        return listing


def _listing_segments(depth: int, parents: tuple[str, ...]) -> list[str]:
    if depth == 0:
        return ["orgs"]
    if depth == 1:
        return ["orgs", parents[0], "projects"]
    return ["orgs", parents[0], "projects", parents[1], "components"]


class OpenChoreoProvider:
    """Walks an OpenChoreo installation; one instance per configured provider."""

    def __init__(
        self,
        name: str,
        settings: OpenChoreoSettings,
        options: ProviderOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._name = name
        self.settings = settings
        self.options = options
        self._transport = transport
        self._sleep = sleep
        self._pagination_checked = False
        self.translator = Translator(settings.default_owner, settings.namespace_strategy)

    @property
    def name(self) -> str:
        return self._name

    def _client(self, gate: Gate | None = None) -> OpenChoreoClient:
        token = self.settings.token.get_secret_value() if self.settings.token else None
        return OpenChoreoClient(
            self.settings.base_url,
            token,
            timeout=self.settings.timeout_seconds,
            retry=RetryPolicy(self.settings.retries, self.settings.max_retry_delay_seconds),
            transport=self._transport,
            sleep=self._sleep,
            gate=gate,
        )

    @contextmanager
    def around(self, burst: BurstInfo) -> Iterator[BurstContext]:
        client = self._client()
        try:
            if not self._pagination_checked:
                check_pagination(client)
                self._pagination_checked = True
            yield BurstContext(client, min(self.options.chunk_size, MAX_LIMIT))
        finally:
            client.close()

    @contextmanager
    def resolver(self, gate: Gate) -> Iterator[Resolve]:
        """Resolve deferred services: one detail call each, every attempt through ``gate``."""
        client = self._client(gate)
        try:
            yield lambda payload: resolve_service(client, self.translator, payload)
        finally:
            client.close()

    def next(self, context: BurstContext, cursor: JSONValue) -> Page:
        result = step(
            WalkCursor.load(cursor),
            context.fetch,
            want=context.limit,
            max_fetches=MAX_FETCHES_PER_PAGE,
        )
        entities: list[Entity] = []
        deferred: list[Deferred] = []
        for batch in result.emitted:
            entities += self._entities(batch)
            if batch.depth == COMPONENTS:
                org, project = batch.parents
                deferred += [defer_service(org, project, c) for c in batch.items if is_service(c)]
        if result.cursor is None:
            return Page(done=True, entities=entities, deferred=deferred)
        return Page(done=False, entities=entities, cursor=result.cursor.dump(), deferred=deferred)

    def origin_of(self, entity: Mapping[str, Any]) -> str:
        return origin_of(entity)

    def _entities(self, batch: Emitted) -> list[Entity]:
        """What a batch gives at once; services wait for their detail calls (deferred)."""
        translator = self.translator
        if batch.depth == 0:
            return [translator.domain(org) for org in batch.items]
        if batch.depth == 1:
            return [translator.system(project, batch.parents[0]) for project in batch.items]
        org, project = batch.parents
        return [
            entity
            for component in batch.items
            if not is_service(component)
            for entity in translator.component(component, org, project)
        ]


def check_pagination(client: OpenChoreoClient) -> None:
    """Fail clearly when the API does not page listings with ``limit`` / ``continue``."""
    body = client.raw_list("/orgs", 1)
    data = body.get("data") if isinstance(body, dict) else None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    items = data.get("items") if isinstance(data, dict) else None
    pages = (
        isinstance(metadata, dict)
        and isinstance(metadata.get("hasMore"), bool)
        and isinstance(items, list)
        and len(items) <= 1
        and (not metadata["hasMore"] or bool(metadata.get("continue")))
    )
    if not pages:
        raise PaginationUnsupportedError(
            "GET /orgs?limit=1: the API does not support cursor pagination (expected "
            "data.metadata.hasMore and data.metadata.continue, at most 1 item); this provider "
            "needs an OpenChoreo API with limit/continue paging"
        )
