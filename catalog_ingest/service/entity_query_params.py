"""Backstage's catalog query parameters, parsed: ``filter``, ``orderField`` / ``order``,
``fields``, ``fullTextFilterFields``. Pure functions; a malformed parameter is an
:class:`ApiError` 400 (Backstage's ``InputError``).

``filter`` may be repeated: the filters are OR-ed. One filter is comma-separated conditions,
AND-ed: ``key=value`` (the key has that value, case-insensitively) or a bare ``key`` (it
exists); a key repeated in one filter takes any of its values, as in Backstage.
"""

from collections.abc import Iterable

from catalog_ingest.service.envelope import ApiError
from models.search_queries import Branch, Condition, Filter

MAX_FILTERS = 50
BLANK = " \t"
"""What surrounds a key or value harmlessly (the documented patterns use the same set)."""
MAX_CONDITIONS = 50


def parse_filters(raw: Iterable[str]) -> Filter:
    """The OR of the given filters; empty: no filter."""
    branches = tuple(branch for branch in map(_branch, raw) if branch)
    if len(branches) > MAX_FILTERS:
        raise ApiError(400, f"at most {MAX_FILTERS} filter parameters")
    return branches


def _branch(text: str) -> Branch:
    values: dict[str, list[str] | None] = {}
    statements = [part for part in text.split(",") if part.strip(BLANK)]
    if len(statements) > MAX_CONDITIONS:
        raise ApiError(400, f"at most {MAX_CONDITIONS} conditions in one filter")
    for statement in statements:
        key, equals, value = statement.partition("=")
        key = key.strip(BLANK).lower()
        if not key:
            raise ApiError(400, f"invalid filter {statement!r}: a condition needs a key")
        if not equals:
            values.setdefault(key, None)
            continue
        known = values.get(key)
        values[key] = [*(known or []), value.strip(BLANK).lower()]
    return tuple(
        Condition(key, None if found is None else tuple(dict.fromkeys(found)))
        for key, found in values.items()
    )


def parse_order_field(raw: Iterable[str]) -> tuple[str | None, bool]:
    """``orderField=field[,asc|desc]``: the first one counts (as in Backstage, which ignores
    the rest); returns (lower-cased field or None, descending)."""
    for text in raw:
        field, _comma, order = text.partition(",")
        return _order(field, order.strip(BLANK) or "asc")
    return None, False


def parse_legacy_order(raw: Iterable[str]) -> tuple[str | None, bool]:
    """``/entities``' ``order=asc:field`` (or ``desc:field``); the first one counts."""
    for text in raw:
        order, colon, field = text.partition(":")
        if not colon:
            raise ApiError(400, f"invalid order {text!r}: use asc:<field> or desc:<field>")
        return _order(field, order.strip(BLANK))
    return None, False


def _order(field: str, order: str) -> tuple[str, bool]:
    if order not in {"asc", "desc"}:
        raise ApiError(400, f"invalid sort order {order!r}: use asc or desc")
    field = field.strip(BLANK).lower()
    if not field:
        raise ApiError(400, "an order field needs a field name")
    return field, order == "desc"


def parse_paths(raw: Iterable[str]) -> tuple[str, ...]:
    """Comma-separated dotted paths, in one parameter or repeated (``fields``,
    ``fullTextFilterFields``); empty: none given."""
    paths = [path.strip(BLANK) for text in raw for path in text.split(",")]
    return tuple(dict.fromkeys(path for path in paths if path))
