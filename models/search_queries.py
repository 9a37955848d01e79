"""The read API's queries over the projection: every one is served by an index.

A filter is an OR of branches, each an AND of conditions (``key`` exists, or ``key`` has one
of ``values``); each condition is ``ref IN (SELECT ref FROM catalog_search WHERE key = ...
[AND value IN ...])``, a range of the ``(key, value, ref)`` index (as Backstage does).

Pages are keyset pages over a total order: without an order field, by ref; with one, first the
entities that have a value for it (their first value: one place per entity) by ``(value,
ref)``, read in that order from the ``(key, value, ref)`` index, then those without one by ref
(nulls last, as Backstage). A position in that order is a :data:`SortKey` ``(value or None,
ref)``; a page reads ``limit`` rows after one, forwards or backwards, never with OFFSET.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, true, tuple_

from models.catalog_reads import merged_body
from models.dialect import column_in
from models.tables import catalog_entities, search, search_entities, source_entities

SortKey = tuple[str | None, str]
"""A row's place in a listing: (its sort value, None when it has none or no order field; ref)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """``key`` (lower-cased) exists, or has one of ``values`` (lower-cased) when given."""

    key: str
    values: tuple[str, ...] | None = None


Branch = tuple[Condition, ...]
"""Conditions that must all hold."""
Filter = tuple[Branch, ...]
"""Branches of which one must hold; empty: every entity."""


@dataclass(frozen=True, slots=True)
class FullText:
    """``term`` (lower-cased) appears in the value of one of ``fields`` (lower-cased keys)."""

    term: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing selects and how it orders it."""

    filter: Filter = ()
    full_text: FullText | None = None
    order_field: str | None = None
    descending: bool = False


def matching(ref: Any, listing: Listing) -> ColumnElement[bool] | None:
    """The listing's selection on a ref column; None: everything."""
    clauses: list[ColumnElement[bool]] = []
    if listing.filter:
        branches = (and_(true(), *(_condition(ref, c) for c in b)) for b in listing.filter)
        clauses.append(or_(*branches))
    if listing.full_text is not None:
        clauses.append(_full_text(ref, listing.full_text))
    return and_(*clauses) if clauses else None


def _condition(ref: Any, condition: Condition) -> ColumnElement[bool]:
    rows = select(search.c.ref).where(search.c.key == condition.key)
    if condition.values is not None:
        rows = rows.where(search.c.value.in_(condition.values))
    return ref.in_(rows)  # type: ignore[no-any-return]


def _full_text(ref: Any, full_text: FullText) -> ColumnElement[bool]:
    escaped = full_text.term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = select(search.c.ref).where(
        search.c.key.in_(full_text.fields), search.c.value.like(f"%{escaped}%", escape="\\")
    )
    return ref.in_(rows)  # type: ignore[no-any-return]


def count(connection: Connection, listing: Listing) -> int:
    """How many entities the listing selects.

    One filter with a ``key=value`` condition (the usual case: ``kind=component``) is counted
    on that condition's own index range, the other conditions checked per row: a ref has at
    most one row per (key, value), so no DISTINCT is needed, and no hash of every ref."""
    rows, ref, rest = _driven(_driving_condition(listing), listing)
    statement = _restricted(rows, ref, rest).with_only_columns(
        func.count(), maintain_column_froms=True
    )
    return int(connection.execute(statement).scalar_one())


def _driving_condition(listing: Listing) -> Condition | None:
    if len(listing.filter) != 1:
        return None
    return next((c for c in listing.filter[0] if c.values and len(c.values) == 1), None)


def page(
    connection: Connection,
    listing: Listing,
    after: SortKey | None,
    limit: int,
    backwards: bool = False,
) -> list[SortKey]:
    """Up to ``limit`` positions after ``after`` (None: from the start) in the listing's
    order, or before it in reverse order when ``backwards``."""
    if listing.order_field is None:
        return _unvalued(connection, listing, after, limit, backwards)
    found: list[SortKey] = []
    valued_first = not backwards
    in_unvalued = after is not None and after[0] is None
    if valued_first and not in_unvalued:
        found += _valued(connection, listing, after, limit, backwards)
    if len(found) < limit and (valued_first or in_unvalued):
        start = after if in_unvalued else None
        found += _unvalued(connection, listing, start, limit - len(found), backwards)
    if not valued_first and len(found) < limit:
        start = None if in_unvalued or after is None else after
        found += _valued(connection, listing, start, limit - len(found), backwards)
    return found


def _reverse(listing: Listing, backwards: bool) -> bool:
    return listing.descending != backwards


def _valued(
    connection: Connection, listing: Listing, after: SortKey | None, limit: int, backwards: bool
) -> list[SortKey]:
    """Entities with a value for the order field, by (first value, ref)."""
    statement: Select[Any] = select(search.c.value, search.c.ref).where(
        search.c.key == listing.order_field, search.c.ordinal == 0, search.c.value.is_not(None)
    )
    reverse = _reverse(listing, backwards)
    if after is not None:
        position = tuple_(search.c.value, search.c.ref)
        mark = tuple_(after[0], after[1])
        statement = statement.where(position < mark if reverse else position > mark)
    columns = (search.c.value, search.c.ref)
    statement = _restricted(statement, search.c.ref, listing)
    statement = statement.order_by(*(c.desc() if reverse else c.asc() for c in columns))
    return [(row[0], row[1]) for row in connection.execute(statement.limit(limit))]


def _unvalued(
    connection: Connection, listing: Listing, after: SortKey | None, limit: int, backwards: bool
) -> list[SortKey]:
    """Entities by ref: all of them without an order field, else those lacking a value.

    With one filter that has a ``key=value`` condition and no order field, the page is read
    from that condition's own index range, which is in ref order: a deep page starts at its
    cursor instead of walking the range from its beginning to meet it."""
    driver = _driving_condition(listing) if listing.order_field is None else None
    statement, ref, rest = _driven(driver, listing)
    if listing.order_field is not None:
        valued = select(search.c.ref).where(
            search.c.ref == ref,
            search.c.key == listing.order_field,
            search.c.ordinal == 0,
            search.c.value.is_not(None),
        )
        statement = statement.where(~valued.exists())
    reverse = _reverse(listing, backwards)
    if after is not None:
        statement = statement.where(ref < after[1] if reverse else ref > after[1])
    statement = _restricted(statement, ref, rest)
    statement = statement.order_by(ref.desc() if reverse else ref.asc()).limit(limit)
    return [(None, row[0]) for row in connection.execute(statement)]


def _driven(driver: Condition | None, listing: Listing) -> tuple[Select[Any], Any, Listing]:
    """(statement, its ref column, what is left to check) for a listing by ref: all refs, or
    the driving condition's index range (a ref has one row per key and value)."""
    if driver is None:
        return select(search_entities.c.ref), search_entities.c.ref, listing
    statement = select(search.c.ref).where(
        search.c.key == driver.key, search.c.value == (driver.values or ("",))[0]
    )
    return statement, search.c.ref, _without(listing, driver)


def _without(listing: Listing, driver: Condition) -> Listing:
    remaining = tuple(c for c in listing.filter[0] if c is not driver)
    return Listing((remaining,) if remaining else (), listing.full_text)


def _restricted(statement: Select[Any], ref: Any, listing: Listing) -> Select[Any]:
    where = matching(ref, listing)
    return statement if where is None else statement.where(where)


def facets(
    connection: Connection, keys: Sequence[str], listing: Listing
) -> dict[str, list[tuple[str, int]]]:
    """Per key (lower-cased), each original value and how many entities of the listing have
    it, most frequent first."""
    statement = (
        select(search.c.key, search.c.original_value, func.count())
        .where(search.c.key.in_(keys), search.c.original_value.is_not(None))
        .group_by(search.c.key, search.c.original_value)
    )
    statement = _restricted(statement, search.c.ref, listing)
    result: dict[str, list[tuple[str, int]]] = {key: [] for key in keys}
    for key, value, number in connection.execute(statement):
        result[key].append((value, int(number)))
    for values in result.values():
        values.sort(key=lambda item: (-item[1], item[0]))
    return result


def filtered_refs(connection: Connection, refs: Sequence[str], listing: Listing) -> set[str]:
    """Those of ``refs`` (stored refs) that the listing selects."""
    if not refs:
        return set()
    statement = select(search_entities.c.ref).where(
        column_in(connection, search_entities.c.ref, list(refs))
    )
    statement = _restricted(statement, search_entities.c.ref, listing)
    return {row[0] for row in connection.execute(statement)}


def bodies(connection: Connection, refs: Sequence[str]) -> dict[str, Any]:
    """The merged entities of ``refs`` (by primary key); absent refs are left out."""
    if not refs:
        return {}
    statement = (
        select(catalog_entities.c.ref, merged_body())
        .join(
            source_entities,
            (catalog_entities.c.ref == source_entities.c.ref)
            & (catalog_entities.c.source == source_entities.c.source),
        )
        .where(column_in(connection, catalog_entities.c.ref, list(refs)))
    )
    return {ref: body for ref, body in connection.execute(statement)}


def resolve(connection: Connection, refs: Sequence[str]) -> dict[str, str]:
    """The stored ref of each of ``refs`` matched case-insensitively (as Backstage's refs are),
    an exact match preferred; unknown refs are left out."""
    wanted = {ref.lower() for ref in refs}
    if not wanted:
        return {}
    rows = connection.execute(
        select(search_entities.c.ref, search_entities.c.lookup).where(
            column_in(connection, search_entities.c.lookup, sorted(wanted))
        )
    ).all()
    by_lookup: dict[str, list[str]] = {}
    for stored, lookup in sorted(rows):
        by_lookup.setdefault(lookup, []).append(stored)
    found: dict[str, str] = {}
    for ref in refs:
        candidates = by_lookup.get(ref.lower())
        if candidates:
            found[ref] = ref if ref in candidates else candidates[0]
    return found
