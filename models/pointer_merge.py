"""The fast path of a merge on PostgreSQL: refs whose only live record is the one just written.

That is every ref of a source no other source shares, so nearly every ref of a large pass. Its
catalog entry is a pointer to the record, and ONE statement per page does the whole merge of
those refs: it finds which of the written refs another source also holds (those go to the
general merge), writes the pointers of the others, reads their old hashes in a CTE of the same
statement (one snapshot: the CTE sees them before the upsert, which is safe because every
catalog write happens under the feed's lock, :func:`models.change_feed.lock_feed`), and puts
each ref whose hash changed in the change feed at the positions after ``first - 1``. No body is
read, merged or written twice.

Every lookup is a lateral join (one index probe per ref): without planner statistics a plain
``ref = ANY(array)`` (or a join the planner may flatten; ``OFFSET 0`` prevents it) is planned
as a full scan of the table for every page, which makes a pass quadratic.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from models.change_feed import Change
from models.dialect import driver_cursor

_PG_FAST_MERGE = """
WITH input AS (
    SELECT u.ref, u.hash FROM unnest(%(refs)b::text[], %(hashes)b::text[]) AS u(ref, hash)
), shared AS (
    SELECT i.ref FROM input i
    CROSS JOIN LATERAL (
        SELECT 1 FROM source_entities s
        WHERE s.ref = i.ref AND s.source <> %(source)s
          AND (s.expires_at IS NULL OR s.expires_at > %(now)s)
        LIMIT 1
    ) AS other
), alone AS (
    SELECT * FROM input WHERE ref NOT IN (SELECT ref FROM shared)
), old AS (
    SELECT c.ref, c.content_hash FROM alone a
    CROSS JOIN LATERAL (SELECT * FROM catalog_entities c WHERE c.ref = a.ref OFFSET 0) AS c
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
    RETURNING c.ref, c.content_hash
), changed AS (
    SELECT w.ref, w.content_hash,
           %(first)s - 1 + ROW_NUMBER() OVER (ORDER BY w.ref) AS position
    FROM written w LEFT JOIN old o ON o.ref = w.ref
    WHERE o.content_hash IS DISTINCT FROM w.content_hash
), fed AS (
    INSERT INTO change_feed AS f (ref, position, content_hash, changed_at)
    SELECT ref, position, content_hash, %(now)s FROM changed
    ON CONFLICT (ref) DO UPDATE SET
        position = excluded.position, content_hash = excluded.content_hash,
        changed_at = excluded.changed_at
)
SELECT ref, NULL, NULL FROM shared
UNION ALL
SELECT ref, content_hash, position FROM changed
"""


@dataclass(frozen=True, slots=True)
class Written:
    """Records one source just wrote: its name, their priority, ref -> content hash, and
    ref -> body (so a merge does not read them back)."""

    source: str
    priority: int
    hashes: Mapping[str, str]
    bodies: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FastMerge:
    """What the fast path did: the refs it left to the general merge (another source holds
    them too), and the changes it put in the feed (at the positions from ``first`` on)."""

    shared: set[str]
    changes: list[Change]


def fast_merge(
    connection: Connection, written: Written, refs: Sequence[str], now: datetime, first: int
) -> FastMerge:
    """Merge those of ``refs`` (all written) that no other source holds; their changes take
    the feed positions ``first``, ``first + 1``..."""
    if not refs:
        return FastMerge(set(), [])
    params = {
        "refs": list(refs),
        "hashes": [written.hashes[ref] for ref in refs],
        "source": written.source,
        "priority": written.priority,
        "now": now,
        "first": first,
    }
    shared: set[str] = set()
    changes: list[Change] = []
    with driver_cursor(connection) as cursor:
        cursor.execute(_PG_FAST_MERGE, params)
        for ref, content_hash, position in cursor:
            if position is None:
                shared.add(ref)
            else:
                changes.append((ref, content_hash))
    return FastMerge(shared, changes)
