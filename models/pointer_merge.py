"""The fast path of a merge on PostgreSQL: refs whose only live record is the one just written.

That is every ref of a source no other source shares, so nearly every ref of a large pass. Its
catalog entry is a pointer to the record, and ONE statement per page does the whole merge of
those refs: it reads the other sources' live records of the written refs, writes the pointers
of the refs no other source holds, reads their old hashes in a CTE of the same statement (one
snapshot: the CTE sees them before the upsert, which is safe because every catalog write
happens under the feed's lock, :func:`models.change_feed.lock_feed`), and puts each ref whose
hash changed in the change feed at the positions after ``first - 1``. No body is read, merged
or written twice.

The refs another source also holds go to the general merge (:mod:`models.catalog_merge`)
with the records the same statement read for them, bodies included (as text, parsed with
orjson: psycopg's jsonb loader is the standard library's, some three times slower), so the
general merge reads none of them again; the written record itself is not read back either.

Every lookup is a lateral join (one index probe per ref): without planner statistics a plain
``ref = ANY(array)`` (or a join the planner may flatten; ``OFFSET 0`` prevents it) is planned
as a full scan of the table for every page, which makes a pass quadratic.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from catalog_ingest.contracts.catalog import SourceRecord
from models.change_feed import Change
from models.dialect import driver_cursor

_PG_FAST_MERGE = """
WITH input AS (
    SELECT u.ref, u.hash FROM unnest(%(refs)b::text[], %(hashes)b::text[]) AS u(ref, hash)
), others AS (
    SELECT i.ref, s.source, s.priority, s.content_hash, s.merge_replace,
           CASE WHEN s.merge_replace THEN NULL ELSE s.body::text END AS body
    FROM input i
    CROSS JOIN LATERAL (
        SELECT * FROM source_entities s
        WHERE s.ref = i.ref AND s.source <> %(source)s
          AND (s.expires_at IS NULL OR s.expires_at > %(now)s)
        OFFSET 0
    ) AS s
), alone AS (
    SELECT i.ref, i.hash, c.content_hash AS old_hash FROM input i
    LEFT JOIN LATERAL (
        SELECT c.content_hash FROM catalog_entities c WHERE c.ref = i.ref OFFSET 0
    ) AS c ON true
    WHERE NOT EXISTS (SELECT FROM others o WHERE o.ref = i.ref)
), written AS (
    INSERT INTO catalog_entities AS c
        (ref, source, content_hash, priority, updated_at, body, conflict)
    SELECT ref, %(source)s, hash, %(priority)s, %(now)s, NULL, NULL FROM alone
    ON CONFLICT (ref) DO UPDATE SET
        source = excluded.source, content_hash = excluded.content_hash,
        priority = excluded.priority, updated_at = excluded.updated_at, body = NULL,
        conflict = NULL
    WHERE c.source <> excluded.source OR c.content_hash <> excluded.content_hash
       OR c.priority <> excluded.priority OR c.body IS NOT NULL OR c.conflict IS NOT NULL
), changed AS (
    SELECT ref, hash, %(first)s - 1 + ROW_NUMBER() OVER (ORDER BY ref) AS position
    FROM alone WHERE old_hash IS DISTINCT FROM hash
), fed AS (
    INSERT INTO change_feed AS f (ref, position, content_hash, changed_at)
    SELECT ref, position, hash, %(now)s FROM changed
    ON CONFLICT (ref) DO UPDATE SET
        position = excluded.position, content_hash = excluded.content_hash,
        changed_at = excluded.changed_at
)
SELECT ref, content_hash, NULL, source, priority, merge_replace, body FROM others
UNION ALL
SELECT ref, hash, position, NULL, NULL, NULL, NULL FROM changed
"""
"""A ``replace`` record's body is not read: it contributes whole (a pointer) or not at all."""


def stored_record(
    source: str, priority: int, content_hash: str, replace: bool, body: str | None
) -> SourceRecord:
    """A record as read by a merge statement: its body as JSON text, or ``None`` when the
    statement did not read it (the merge does not need it)."""
    parsed = {} if body is None else orjson.loads(body)
    return SourceRecord(source, priority, parsed, content_hash, replace)


@dataclass(frozen=True, slots=True)
class Written:
    """Records one source just wrote: its name, their priority and merge mode, ref -> content
    hash, and ref -> body (so a merge does not read them back)."""

    source: str
    priority: int
    hashes: Mapping[str, str]
    bodies: Mapping[str, Any] = field(default_factory=dict)
    replace: bool = False

    def record(self, ref: str) -> SourceRecord:
        """The written record of ``ref`` as the merge sees it."""
        return SourceRecord(
            self.source, self.priority, self.bodies[ref], self.hashes[ref], self.replace
        )


@dataclass(frozen=True, slots=True)
class FastMerge:
    """What the fast path did: the refs it left to the general merge (another source holds
    them too) with their live records, the written one included, and the changes it put in
    the feed (at the positions from ``first`` on)."""

    shared: dict[str, list[SourceRecord]]
    changes: list[Change]


def fast_merge(
    connection: Connection, written: Written, refs: Sequence[str], now: datetime, first: int
) -> FastMerge:
    """Merge those of ``refs`` (all written) that no other source holds; their changes take
    the feed positions ``first``, ``first + 1``..."""
    if not refs:
        return FastMerge({}, [])
    params = {
        "refs": list(refs),
        "hashes": [written.hashes[ref] for ref in refs],
        "source": written.source,
        "priority": written.priority,
        "now": now,
        "first": first,
    }
    shared: dict[str, list[SourceRecord]] = {}
    changes: list[Change] = []
    with driver_cursor(connection) as cursor:
        cursor.execute(_PG_FAST_MERGE, params)
        for ref, content_hash, position, source, priority, replace, body in cursor:
            if position is not None:
                changes.append((ref, content_hash))
                continue
            if ref not in shared:
                shared[ref] = [written.record(ref)]
            shared[ref].append(stored_record(source, priority, content_hash, replace, body))
    return FastMerge(shared, changes)
