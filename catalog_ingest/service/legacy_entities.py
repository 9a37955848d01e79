"""``GET /api/catalog/entities``: Backstage's older listing, a plain JSON array.

With ``limit``, a keyset page and, when more follow, ``Link: <...after=...>; rel="next"`` (as
Backstage answers); ``after`` is an opaque cursor (the query rides in it). Without ``limit``,
every matching entity, streamed from keyset batches so memory stays flat on any catalog size.
``offset`` is refused: it would mean an OFFSET scan.
"""

from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from catalog_ingest.service import query_cursor
from catalog_ingest.service.entity_fields import project
from catalog_ingest.service.entity_pages import all_entities, first_page, fresh_engine, next_page
from catalog_ingest.service.entity_query_params import (
    parse_filters,
    parse_legacy_order,
    parse_paths,
)
from catalog_ingest.service.envelope import ApiError
from catalog_ingest.service.read_api_common import (
    MAX_LIMIT,
    NO_OFFSET,
    Context,
    Filters,
    LegacyOrders,
    Texts,
    json_response,
)
from models.search_queries import Listing


def legacy_entities(
    request: Request,
    context: Context,
    filter: Filters = None,
    fields: Texts = None,
    limit: Annotated[int | None, Query(ge=0)] = None,
    offset: Annotated[int | None, Query(ge=0, le=0, description=NO_OFFSET)] = None,
    after: Annotated[str | None, Query(max_length=query_cursor.MAX_CURSOR_CHARS)] = None,
    order: LegacyOrders = None,
) -> Response:
    """Entities matching ``filter`` (all of them, or a page with ``limit``)."""
    if offset:
        raise ApiError(400, "offset is not supported: page with limit and the Link header")
    paths = parse_paths(fields or [])
    cursor = None if after is None else query_cursor.decode(after)
    listing = Listing(parse_filters(filter or []), None, *parse_legacy_order(order or []))
    engine = fresh_engine(context)
    if limit is None and cursor is None:
        return StreamingResponse(
            _json_array(all_entities(engine, listing, paths)), media_type="application/json"
        )
    size = min(MAX_LIMIT if limit is None else limit, MAX_LIMIT)
    with engine.connect() as connection:
        if cursor is None:
            result = first_page(connection, listing, size, total=False)
        else:
            result = next_page(connection, cursor, size)
    response = json_response([project(entity, paths) for entity in result.items])
    if result.next_cursor is not None:
        url = request.url.remove_query_params("offset").include_query_params(
            after=query_cursor.encode(result.next_cursor)
        )
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return response


def _json_array(entities: Iterator[Any]) -> Iterator[bytes]:
    yield b"["
    separator = b""
    for entity in entities:
        yield separator + orjson.dumps(entity)
        separator = b","
    yield b"]"
