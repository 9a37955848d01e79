"""The opaque cursor of ``/entities/by-query`` and ``/entities``: base64 of a small JSON
document that carries the query itself (filter, full-text filter, order), the keyset position
to continue from, the direction, the first position of the listing (so the first page has no
``prevCursor``) and the total counted on the first page (counted once, as Backstage does).

Base64 of a JSON object without a ``query`` key, like Backstage's own cursors: the catalog
client decodes a cursor to decide which endpoint to call with it.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from catalog_ingest.service.envelope import ApiError
from models.search_queries import Condition, Filter, FullText, Listing, SortKey

MAX_CURSOR_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True)
class Cursor:
    listing: Listing
    position: SortKey
    backwards: bool = False
    first: SortKey | None = None
    total: int | None = None


def encode(cursor: Cursor) -> str:
    listing = cursor.listing
    document = {
        "filter": [[[c.key, c.values] for c in branch] for branch in listing.filter],
        "fullText": None
        if listing.full_text is None
        else [listing.full_text.term, list(listing.full_text.fields)],
        "order": [listing.order_field, listing.descending],
        "position": list(cursor.position),
        "isPrevious": cursor.backwards,
        "first": None if cursor.first is None else list(cursor.first),
        "totalItems": cursor.total,
    }
    return base64.b64encode(orjson.dumps(document)).decode()


def decode(text: str) -> Cursor:
    """The cursor in ``text``; :class:`ApiError` 400 when it is not one of ours."""
    if len(text) > MAX_CURSOR_CHARS:
        raise ApiError(400, "malformed cursor: too long")
    try:
        document = orjson.loads(base64.b64decode(text, validate=True))
        return _cursor(document)
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ApiError(400, "malformed cursor, could not be parsed") from error


def _cursor(document: dict[str, Any]) -> Cursor:
    field, descending = document["order"]
    full_text = document["fullText"]
    listing = Listing(
        filter=_filter(document["filter"]),
        full_text=None
        if full_text is None
        else FullText(_text(full_text[0]), _texts(full_text[1])),
        order_field=None if field is None else _text(field),
        descending=_flag(descending),
    )
    total = document["totalItems"]
    if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
        raise TypeError("totalItems")
    first = document["first"]
    return Cursor(
        listing,
        _position(document["position"]),
        _flag(document["isPrevious"]),
        None if first is None else _position(first),
        total,
    )


def _filter(raw: Any) -> Filter:
    return tuple(
        tuple(
            Condition(_text(key), None if values is None else _texts(values))
            for key, values in branch
        )
        for branch in raw
    )


def _position(raw: Any) -> SortKey:
    value, ref = raw
    return (None if value is None else _text(value), _text(ref))


def _text(raw: Any) -> str:
    if not isinstance(raw, str) or "\x00" in raw:
        raise TypeError("expected a string")
    return raw


def _texts(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise TypeError("expected a list")
    return tuple(_text(item) for item in raw)


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError("expected a boolean")
    return raw
