"""Committing a page: mark, mark entities, catalog writes and progress in one transaction."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from catalog_ingest.contracts.provider import JSONValue
from catalog_ingest.contracts.states import Phase
from catalog_ingest.contracts.storage import Mark, PageResult, PageWrite, PreparedEntity
from models.catalog_merge import merge_refs
from models.catalog_writes import (
    StoredVersion,
    fetch_versions,
    set_expiry,
    upsert_source_entities,
)
from models.dialect import column_in, driver_cursor, is_postgres, skip_flush_wait
from models.ingestion_state import explain_refusal
from models.pointer_merge import Written
from models.tables import ingestions, mark_entities, marks, source_entities

_PG_MARK_EVENT_ENTITIES = """
INSERT INTO ingestion_mark_entities (ingestion_id, ref, mark_id, existed)
SELECT %(ingestion_id)s, ref, NULL, existed
FROM unnest(%(refs)b::text[], %(existed)b::bool[]) AS u(ref, existed)
ON CONFLICT (ingestion_id, ref) DO NOTHING
"""

_PG_MARK_PAGE_ENTITIES = """
INSERT INTO ingestion_mark_entities (ingestion_id, ref, mark_id, existed)
SELECT %(ingestion_id)s, ref, %(mark_id)s, existed
FROM unnest(%(refs)b::text[], %(existed)b::bool[]) AS u(ref, existed)
ON CONFLICT (ingestion_id, ref) DO UPDATE SET mark_id = EXCLUDED.mark_id
WHERE ingestion_mark_entities.mark_id IS NULL
RETURNING ref, xmax = 0
"""
"""A page claims refs an event marked (``mark_id`` NULL); refs an earlier page marked are
not returned: those are the pass's duplicates. ``xmax = 0`` tells an insert from a claim."""

_PG_FETCH_AND_MARK_PAGE = """
WITH page AS (
    SELECT u.ref, s.content_hash, s.priority, s.merge_replace, s.expires_at
    FROM unnest(%(refs)b::text[]) AS u(ref)
    LEFT JOIN LATERAL (
        SELECT * FROM source_entities s WHERE s.source = %(source)s AND s.ref = u.ref OFFSET 0
    ) AS s ON true
), marked AS (
    INSERT INTO ingestion_mark_entities AS m (ingestion_id, ref, mark_id, existed)
    SELECT %(ingestion_id)s, ref, %(mark_id)s, content_hash IS NOT NULL FROM page
    ON CONFLICT (ingestion_id, ref) DO UPDATE SET mark_id = excluded.mark_id
    WHERE m.mark_id IS NULL
    RETURNING m.ref, xmax = 0 AS inserted
), counted AS (
    UPDATE ingestions SET entities = entities + (SELECT count(*) FROM marked WHERE inserted)
    WHERE id = %(ingestion_id)s AND EXISTS (SELECT FROM marked WHERE inserted)
)
SELECT ref, content_hash, priority, merge_replace, expires_at, NULL::bool FROM page
WHERE content_hash IS NOT NULL
UNION ALL
SELECT ref, NULL, NULL, NULL, NULL, inserted FROM marked
"""
"""A page's whole bookkeeping in one statement: the source's stored versions of its refs (one
primary-key probe per ref), their marks (as :data:`_PG_MARK_PAGE_ENTITIES`), and the
ingestion's count of marked refs. Rows with a hash are stored versions; the others are the
refs the page marked (claimed or inserted)."""


@dataclass(frozen=True, slots=True)
class MarkOutcome:
    """What marking a page's refs found."""

    new: int
    """Refs new to the ingestion."""
    duplicates: frozenset[str] = frozenset()
    """Refs an earlier page of the ingestion already marked."""


def next_sequence(
    connection: Connection, ingestion_id: str, fence: int, page: PageWrite, now: datetime
) -> int:
    """Advance the page counter under the burst's guard; the new count is the sequence."""
    values: dict[str, Any] = {
        "pages": ingestions.c.pages + 1,
        "rejected": ingestions.c.rejected + page.rejected,
        "fallbacks": ingestions.c.fallbacks + page.fallbacks,
        "updated_at": now,
    }
    if page.done:
        values["phase"] = Phase.SWEEPING
    sequence = connection.execute(
        update(ingestions)
        .where(
            ingestions.c.id == ingestion_id,
            ingestions.c.fence == fence,
            ingestions.c.next_action == "ingest",
        )
        .values(**values)
        .returning(ingestions.c.pages)
    ).scalar()
    if sequence is None:
        raise explain_refusal(connection, ingestion_id, fence)
    return int(sequence)


def mark_refs(
    connection: Connection,
    ingestion_id: str,
    mark_id: int | None,
    refs: Sequence[str],
    stored: Mapping[str, StoredVersion],
) -> MarkOutcome:
    """Record refs as seen by the ingestion, by a page (``mark_id``) or an event (``None``).

    ``stored`` tells which refs the provider already owned: they count towards the sweep
    guard's denominator ("previous entities"), without comparing timestamps.
    """
    if not refs:
        return MarkOutcome(0)
    existed = [ref in stored for ref in refs]
    if is_postgres(connection):
        return _pg_mark_refs(connection, ingestion_id, mark_id, refs, existed)
    known: dict[str, int | None] = {
        ref: owner
        for ref, owner in connection.execute(
            select(mark_entities.c.ref, mark_entities.c.mark_id).where(
                mark_entities.c.ingestion_id == ingestion_id,
                column_in(connection, mark_entities.c.ref, refs),
            )
        )
    }
    rows = [
        {"ingestion_id": ingestion_id, "ref": ref, "mark_id": mark_id, "existed": flag}
        for ref, flag in zip(refs, existed, strict=True)
        if ref not in known
    ]
    if rows:
        connection.execute(mark_entities.insert(), rows)
    if mark_id is None:
        return MarkOutcome(len(rows))
    claimed = [ref for ref, owner in known.items() if owner is None]
    if claimed:
        connection.execute(
            update(mark_entities)
            .where(
                mark_entities.c.ingestion_id == ingestion_id,
                column_in(connection, mark_entities.c.ref, claimed),
            )
            .values(mark_id=mark_id)
        )
    return MarkOutcome(
        len(rows), frozenset(ref for ref, owner in known.items() if owner is not None)
    )


def _pg_mark_refs(
    connection: Connection,
    ingestion_id: str,
    mark_id: int | None,
    refs: Sequence[str],
    existed: Sequence[bool],
) -> MarkOutcome:
    params: dict[str, Any] = {
        "ingestion_id": ingestion_id,
        "mark_id": mark_id,
        "refs": list(refs),
        "existed": list(existed),
    }
    with driver_cursor(connection) as cursor:
        if mark_id is None:
            cursor.execute(_PG_MARK_EVENT_ENTITIES, params)
            return MarkOutcome(int(cursor.rowcount))
        cursor.execute(_PG_MARK_PAGE_ENTITIES, params)
        returned = cursor.fetchall()
    accepted = {ref for ref, _inserted in returned}
    return MarkOutcome(
        sum(1 for _ref, inserted in returned if inserted),
        frozenset(ref for ref in refs if ref not in accepted),
    )


def _pg_fetch_and_mark_page(
    connection: Connection, ingestion_id: str, mark_id: int, source: str, refs: Sequence[str]
) -> tuple[dict[str, StoredVersion], MarkOutcome]:
    """:func:`fetch_versions`, :func:`mark_refs` and :func:`add_marked` of a page, at once."""
    params = {"ingestion_id": ingestion_id, "mark_id": mark_id, "source": source, "refs": refs}
    stored: dict[str, StoredVersion] = {}
    accepted: set[str] = set()
    new = 0
    with driver_cursor(connection) as cursor:
        cursor.execute(_PG_FETCH_AND_MARK_PAGE, params)
        for ref, content_hash, priority, replace, expires_at, inserted in cursor:
            if content_hash is not None:
                stored[ref] = StoredVersion(content_hash, priority, replace, expires_at)
                continue
            accepted.add(ref)
            new += bool(inserted)
    return stored, MarkOutcome(new, frozenset(ref for ref in refs if ref not in accepted))


def unmark_refs(connection: Connection, ingestion_id: str, refs: Sequence[str]) -> None:
    """Forget refs an event removed, so the ingestion's marks (and count) match the catalog."""
    if refs:
        forgotten = connection.execute(
            mark_entities.delete().where(
                mark_entities.c.ingestion_id == ingestion_id,
                column_in(connection, mark_entities.c.ref, refs),
            )
        ).rowcount
        add_marked(connection, ingestion_id, -int(forgotten))


@dataclass(frozen=True, slots=True)
class RecordPolicy:
    """How a source's records are stored: merge priority, expiry, merge mode."""

    priority: int = 0
    ttl_seconds: int | None = None
    replace: bool = False

    @classmethod
    def of(cls, page: PageWrite) -> "RecordPolicy":
        return cls(page.priority, page.ttl_seconds, page.merge_replace)

    def expires_at(self, now: datetime) -> datetime | None:
        """A record refreshed ``now`` expires after the source's TTL (never without one)."""
        return None if self.ttl_seconds is None else now + timedelta(seconds=self.ttl_seconds)


def store_entities(
    connection: Connection,
    source: str,
    entities: Sequence[PreparedEntity],
    policy: RecordPolicy,
    now: datetime,
    stored: Mapping[str, StoredVersion],
    also_merge: Sequence[str] = (),
) -> int:
    """Write the entities that are new or changed (content, priority or merge mode), refresh
    the expiry of the unchanged ones, and re-merge the refs whose records changed or came
    back to life (with ``also_merge``: refs whose records the caller deleted). Returns how
    many records were written."""
    expires_at = policy.expires_at(now)
    changed: list[PreparedEntity] = []
    refreshed: list[PreparedEntity] = []
    for entity in entities:
        version = stored.get(entity.ref)
        if version is None or not version.same(
            entity.content_hash, policy.priority, policy.replace
        ):
            changed.append(entity)
        elif version.expires_at is not None and version.expires_at <= now:
            changed.append(entity)  # expired: rewritten whole, the expiry task may delete it
        elif version.expires_at != expires_at:
            refreshed.append(entity)
    kept = set_expiry(connection, source, [e.ref for e in refreshed], expires_at)
    changed.extend(e for e in refreshed if e.ref not in kept)
    upsert_source_entities(
        connection, source, changed, policy.priority, now, expires_at, policy.replace
    )
    written = Written(
        source,
        policy.priority,
        {e.ref: e.content_hash for e in changed},
        {e.ref: e.body for e in changed},
        policy.replace,
    )
    merge_refs(connection, [*written.hashes, *also_merge], now, written)
    return len(changed)


def mark_and_store(
    connection: Connection,
    ingestion_id: str,
    mark_id: int | None,
    source: str,
    entities: Sequence[PreparedEntity],
    policy: RecordPolicy,
    now: datetime,
    also_merge: Sequence[str] = (),
) -> tuple[int, frozenset[str]]:
    """Mark the entities into the ingestion and write what changed, then merge the refs
    touched (and ``also_merge``: refs whose records the caller deleted) once.

    Returns how many were written, and the refs dropped because an earlier page of the pass
    emitted them first (events always write: they are newer than the pass).
    """
    refs = [e.ref for e in entities]
    if mark_id is not None and refs and is_postgres(connection):
        stored, marked = _pg_fetch_and_mark_page(connection, ingestion_id, mark_id, source, refs)
    else:
        stored = fetch_versions(connection, source, refs)
        marked = mark_refs(connection, ingestion_id, mark_id, refs, stored)
        add_marked(connection, ingestion_id, marked.new)
    if marked.duplicates:
        entities = [e for e in entities if e.ref not in marked.duplicates]
    written = store_entities(connection, source, entities, policy, now, stored, also_merge)
    return written, marked.duplicates


def mark_kept(
    connection: Connection,
    ingestion_id: str,
    mark_id: int,
    source: str,
    refs: Sequence[str],
) -> None:
    """Carry refs forward from earlier passes: those ``source`` has stored are marked into the
    ingestion (so the sweep keeps them) and their bodies stay as they are."""
    stored = fetch_versions(connection, source, sorted(set(refs)))
    if stored:
        marked = mark_refs(connection, ingestion_id, mark_id, sorted(stored), stored)
        add_marked(connection, ingestion_id, marked.new)


def add_marked(connection: Connection, ingestion_id: str, count: int) -> None:
    if count:
        connection.execute(
            update(ingestions)
            .where(ingestions.c.id == ingestion_id)
            .values(entities=ingestions.c.entities + count)
        )


def commit_page(
    connection: Connection,
    ingestion_id: str,
    provider_name: str,
    fence: int,
    page: PageWrite,
    now: datetime,
) -> PageResult:
    """The body of a page's transaction; the caller owns the transaction.

    The commit does not wait for its WAL flush: a page lost with a crashed server is lost
    with its mark, so the next burst resumes before it and fetches it again. Pages whose
    deferred items went to child tasks are not committed here (those children need their mark).
    """
    skip_flush_wait(connection)
    sequence = next_sequence(connection, ingestion_id, fence, page, now)
    mark_id = connection.execute(
        marks.insert()
        .values(ingestion_id=ingestion_id, sequence=sequence, cursor=page.cursor, created_at=now)
        .returning(marks.c.id)
    ).scalar_one()
    return store_page(connection, ingestion_id, provider_name, mark_id, sequence, page, now)


def store_page(
    connection: Connection,
    ingestion_id: str,
    provider_name: str,
    mark_id: int,
    sequence: int,
    page: PageWrite,
    now: datetime,
) -> PageResult:
    """Mark and store a page's entities under its mark; count the refs already emitted."""
    written, duplicates = mark_and_store(
        connection, ingestion_id, mark_id, provider_name, page.entities, RecordPolicy.of(page), now
    )
    mark_kept(connection, ingestion_id, mark_id, provider_name, page.kept_refs)
    kept: dict[str, JSONValue] = {}
    if duplicates:
        kept = {
            ref: body
            for ref, body in connection.execute(
                select(source_entities.c.ref, source_entities.c.body).where(
                    source_entities.c.source == provider_name,
                    column_in(connection, source_entities.c.ref, sorted(duplicates)),
                )
            )
        }
    if duplicates or page.duplicates:
        connection.execute(
            update(ingestions)
            .where(ingestions.c.id == ingestion_id)
            .values(duplicates=ingestions.c.duplicates + len(duplicates) + page.duplicates)
        )
    unchanged = len(page.entities) - len(duplicates) - written
    return PageResult(sequence=sequence, written=written, unchanged=unchanged, duplicates=kept)


def _mark_rows(connection: Connection, ingestion_id: str) -> Any:
    counts = (
        select(mark_entities.c.mark_id, func.count().label("n"))
        .where(mark_entities.c.ingestion_id == ingestion_id)
        .group_by(mark_entities.c.mark_id)
        .subquery()
    )
    return (
        select(marks.c.sequence, marks.c.cursor, marks.c.created_at, counts.c.n)
        .outerjoin(counts, counts.c.mark_id == marks.c.id)
        .where(marks.c.ingestion_id == ingestion_id)
    )


def _to_mark(row: Any) -> Mark:
    return Mark(
        sequence=row.sequence, cursor=row.cursor, created_at=row.created_at, entity_count=row.n or 0
    )


def last_mark(connection: Connection, ingestion_id: str) -> Mark | None:
    statement = (
        select(marks.c.sequence, marks.c.cursor, marks.c.created_at)
        .where(marks.c.ingestion_id == ingestion_id)
        .order_by(marks.c.sequence.desc())
        .limit(1)
    )
    row = connection.execute(statement).first()
    if row is None:
        return None
    return Mark(sequence=row.sequence, cursor=row.cursor, created_at=row.created_at, entity_count=0)


def last_cursor(connection: Connection, ingestion_id: str) -> JSONValue:
    """The newest stored cursor among the last two marks (a pass's last page stores none)."""
    statement = (
        select(marks.c.cursor)
        .where(marks.c.ingestion_id == ingestion_id)
        .order_by(marks.c.sequence.desc())
        .limit(2)
    )
    for row in connection.execute(statement):
        if row.cursor is not None:
            cursor: JSONValue = row.cursor
            return cursor
    return None


def list_marks(connection: Connection, ingestion_id: str) -> list[Mark]:
    statement = _mark_rows(connection, ingestion_id).order_by(marks.c.sequence)
    return [_to_mark(row) for row in connection.execute(statement)]


def entities_marked_since(connection: Connection, ingestion_id: str, since: datetime) -> int:
    """Refs marked by the pass's pages committed at or after ``since`` (events' marks, which
    belong to no page, are not ingestion progress); for the rate ``ingest status`` shows.

    The pass's recent marks are few, found by their own index; their refs are then counted
    within the pass's part of the mark entities' primary key."""
    recent = select(marks.c.id).where(
        marks.c.ingestion_id == ingestion_id, marks.c.created_at >= since
    )
    statement = (
        select(func.count())
        .select_from(mark_entities)
        .where(
            mark_entities.c.ingestion_id == ingestion_id,
            mark_entities.c.mark_id.in_(recent.scalar_subquery()),
        )
    )
    return int(connection.execute(statement).scalar_one())
