"""Backstage's catalog read routes, same paths and shapes, so ``@backstage/catalog-client``
works unchanged: ``/entities/by-query``, ``/entities/by-name/...``, ``/entities/by-refs``,
``/entity-facets`` and ``/entities`` (``Link`` paging), all with the ``read`` scope.

They read the projection of :mod:`models.search_projection` (caught up first: see
:func:`catalog_ingest.service.entity_pages.fresh_engine`) with the keyset queries of
:mod:`models.search_queries`, and take each page's bodies from the merged catalog.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Connection

from catalog_ingest.service import query_cursor
from catalog_ingest.service.auth import guard
from catalog_ingest.service.entity_fields import project
from catalog_ingest.service.entity_pages import Page, first_page, fresh_engine, next_page
from catalog_ingest.service.entity_query_params import (
    parse_filters,
    parse_order_field,
    parse_paths,
)
from catalog_ingest.service.envelope import ApiError
from catalog_ingest.service.legacy_entities import legacy_entities
from catalog_ingest.service.read_api_common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    NO_NUL,
    NO_OFFSET,
    Context,
    Filters,
    OrderFields,
    Texts,
    documented,
    json_response,
    refuse_nul,
)
from models.search_queries import FullText, Listing, bodies, facets, filtered_refs, resolve

router = APIRouter(prefix="/api/catalog", tags=["catalog"], dependencies=[Depends(refuse_nul)])

MAX_REFS = 10_000
DEFAULT_FULL_TEXT_FIELD = "metadata.name"
"""Backstage searches its sort field (by default ``metadata.uid``); without an order field,
this API searches the name."""


class PageInfo(BaseModel):
    nextCursor: str | None = None
    prevCursor: str | None = None


class QueryResponse(BaseModel):
    items: list[dict[str, Any]]
    totalItems: int | None = None
    pageInfo: PageInfo


Text = Annotated[str, Field(pattern=NO_NUL)]
PathText = Annotated[str, Path(pattern=NO_NUL)]
"""Any string but NUL characters (PostgreSQL text cannot hold them)."""


class RefsRequest(BaseModel):
    entityRefs: list[Text] = Field(max_length=MAX_REFS)
    fields: list[Text] | None = None


class RefsResponse(BaseModel):
    items: list[dict[str, Any] | None]


class FacetCount(BaseModel):
    value: str
    count: int


class FacetsResponse(BaseModel):
    facets: dict[str, list[FacetCount]]


@router.get(
    "/entities/by-query",
    dependencies=guard("read"),
    responses=documented(QueryResponse),
    response_class=JSONResponse,
)
def query_entities(
    context: Context,
    filter: Filters = None,
    fields: Texts = None,
    limit: Annotated[int, Query(ge=0)] = DEFAULT_LIMIT,
    offset: Annotated[int | None, Query(ge=0, le=0, description=NO_OFFSET)] = None,
    orderField: OrderFields = None,
    cursor: Annotated[str | None, Query(max_length=query_cursor.MAX_CURSOR_CHARS)] = None,
    fullTextFilterTerm: Annotated[str | None, Query(pattern=NO_NUL)] = None,
    fullTextFilterFields: Texts = None,
    totalItems: Literal["include", "exclude"] = "include",
) -> Response:
    """Entities matching ``filter``, a keyset page at a time (``pageInfo.nextCursor``)."""
    if offset:
        raise ApiError(400, "offset is not supported: page with the cursor")
    limit = min(limit, MAX_LIMIT)
    engine = fresh_engine(context)
    with engine.connect() as connection:
        if cursor is not None:
            result = next_page(connection, query_cursor.decode(cursor), limit)
        else:
            listing = _listing(filter, orderField, fullTextFilterTerm, fullTextFilterFields)
            result = first_page(connection, listing, limit, totalItems == "include")
    return json_response(_query_body(result, parse_paths(fields or [])))


def _listing(
    filters: list[str] | None,
    order_fields: list[str] | None,
    term: str | None,
    term_fields: list[str] | None,
) -> Listing:
    field, descending = parse_order_field(order_fields or [])
    full_text = None
    if term and term.strip():
        searched = parse_paths(term_fields or []) or (field or DEFAULT_FULL_TEXT_FIELD,)
        full_text = FullText(term.strip().lower(), tuple(key.lower() for key in searched))
    return Listing(parse_filters(filters or []), full_text, field, descending)


def _query_body(result: Page, fields: tuple[str, ...]) -> dict[str, Any]:
    page_info: dict[str, str] = {}
    if result.next_cursor is not None:
        page_info["nextCursor"] = query_cursor.encode(result.next_cursor)
    if result.prev_cursor is not None:
        page_info["prevCursor"] = query_cursor.encode(result.prev_cursor)
    body: dict[str, Any] = {
        "items": [project(entity, fields) for entity in result.items],
        "pageInfo": page_info,
    }
    if result.total is not None:
        body["totalItems"] = result.total
    return body


@router.get(
    "/entities/by-name/{kind}/{namespace}/{name}",
    dependencies=guard("read"),
    responses=documented(dict[str, Any]),
    response_class=JSONResponse,
)
def entity_by_name(
    context: Context, kind: PathText, namespace: PathText, name: PathText
) -> Response:
    """One entity by kind, namespace and name (case-insensitive, as in Backstage)."""
    ref = f"{kind}:{namespace}/{name}"
    engine = fresh_engine(context)
    with engine.connect() as connection:
        stored = resolve(connection, [ref]).get(ref)
        found = bodies(connection, [stored]) if stored else {}
    if not found:
        raise ApiError.not_found(
            f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        )
    return json_response(next(iter(found.values())))


@router.post(
    "/entities/by-refs",
    dependencies=guard("read"),
    responses=documented(RefsResponse),
    response_class=JSONResponse,
)
def entities_by_refs(context: Context, request: RefsRequest, filter: Filters = None) -> Response:
    """The entities of ``entityRefs`` in request order; ``null`` for unknown refs (or refs
    the ``filter`` leaves out)."""
    listing = Listing(parse_filters(filter or []))
    fields = parse_paths(request.fields or [])
    engine = fresh_engine(context)
    with engine.connect() as connection:
        stored = resolve(connection, request.entityRefs)
        if listing.filter:
            stored = _kept(connection, stored, listing)
        found = bodies(connection, sorted(set(stored.values())))
    items = [
        project(found[stored[ref]], fields) if stored.get(ref) in found else None
        for ref in request.entityRefs
    ]
    return json_response({"items": items})


def _kept(connection: Connection, stored: dict[str, str], listing: Listing) -> dict[str, str]:
    kept = filtered_refs(connection, sorted(set(stored.values())), listing)
    return {ref: found for ref, found in stored.items() if found in kept}


@router.get(
    "/entity-facets",
    dependencies=guard("read"),
    responses=documented(FacetsResponse),
    response_class=JSONResponse,
)
def entity_facets(
    context: Context,
    facet: Annotated[list[Annotated[str, StringConstraints(pattern=NO_NUL)]], Query(min_length=1)],
    filter: Filters = None,
) -> Response:
    """Per facet (a dotted key), each value and how many entities have it."""
    names = list(dict.fromkeys(facet))
    listing = Listing(parse_filters(filter or []))
    engine = fresh_engine(context)
    with engine.connect() as connection:
        counted = facets(connection, sorted({name.lower() for name in names}), listing)
    return json_response(
        {
            "facets": {
                name: [{"value": value, "count": number} for value, number in counted[name.lower()]]
                for name in names
            }
        }
    )


router.add_api_route(
    "/entities",
    legacy_entities,
    methods=["GET"],
    dependencies=guard("read"),
    responses=documented(list[dict[str, Any]]),
    response_class=JSONResponse,
)
