"""One page of the organization-era walk: listings read through a per-burst cache, entities
built, services deferred to their detail calls."""

from dataclasses import dataclass, field
from typing import Any

from catalog_ingest.contracts.provider import Deferred, Entity, JSONValue, Page
from catalog_ingest.providers.openchoreo.client import MAX_LIMIT, OpenChoreoClient, path_of
from catalog_ingest.providers.openchoreo.payloads import Component, Organization, Project
from catalog_ingest.providers.openchoreo.resolver import defer_service
from catalog_ingest.providers.openchoreo.translate import Translator, is_service
from catalog_ingest.providers.openchoreo.walk import LEVELS, Emitted, Listing, WalkCursor, step

COMPONENTS = 2
"""Depth of the components listing in the walk."""
MAX_FETCHES_PER_PAGE = 100
"""Listing calls one ``next`` may make to fill a page (parent pages are cached per burst)."""

_MODELS: tuple[type[Organization], type[Project], type[Component]] = (
    Organization,
    Project,
    Component,
)


@dataclass
class OrgReader:
    """Reads organization-era listings for one burst, keeping the last page of each depth."""

    client: OpenChoreoClient
    limit: int
    _cache: dict[int, tuple[tuple[Any, ...], Listing]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limit = min(self.limit, MAX_LIMIT)

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


def org_page(reader: OrgReader, translator: Translator, cursor: JSONValue) -> Page:
    """The next page of the walk after ``cursor`` (``None``: from the start)."""
    result = step(
        WalkCursor.load(cursor), reader.fetch, want=reader.limit, max_fetches=MAX_FETCHES_PER_PAGE
    )
    entities: list[Entity] = []
    deferred: list[Deferred] = []
    for batch in result.emitted:
        entities += _entities(translator, batch)
        if batch.depth == COMPONENTS:
            org, project = batch.parents
            deferred += [defer_service(org, project, c) for c in batch.items if is_service(c)]
    if result.cursor is None:
        return Page(done=True, entities=entities, deferred=deferred)
    return Page(done=False, entities=entities, cursor=result.cursor.dump(), deferred=deferred)


def _entities(translator: Translator, batch: Emitted) -> list[Entity]:
    """What a batch gives at once; services wait for their detail calls (deferred)."""
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


def describe_org_cursor(cursor: JSONValue) -> str:
    """Where an organization-era cursor stands, e.g. ``components of acme/shop``."""
    walk = WalkCursor.load(cursor)
    parents = "/".join(str(position.after) for position in walk.stack[:-1])
    return LEVELS[walk.phase] + (f" of {parents}" if parents else "")
