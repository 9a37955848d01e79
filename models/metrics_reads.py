"""The figures ``GET /metrics`` reports, read from the database in four aggregate queries
whatever the number of providers (never one query per provider per metric), so every replica
of the service reports the same thing.

- the open pass of each provider, with its pending pages (a correlated count on the marks'
  ``(ingestion_id, sequence)`` index);
- the newest completed pass of each provider: the newest ingestion whose listing and sweep
  completed (``ingestion_completed_at`` set), whether it is still resting, closed after its
  rest, or closed by a ``start`` that cut its rest short;
- the newest burst start, and the newest burst end with its outcome, of each provider.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from catalog_ingest.contracts.states import OPEN_TICKET
from models.tables import bursts, ingestions, marks


@dataclass(frozen=True, slots=True)
class CurrentPass:
    provider: str
    status: str
    phase: str
    pages: int
    entities: int
    fallbacks: int
    attempts: int
    pending_pages: int


@dataclass(frozen=True, slots=True)
class CompletedPass:
    provider: str
    created_at: datetime
    completed_at: datetime
    entities: int
    removed: int
    note: str | None
    """``last_error``: a completed pass records its sweep refusal there."""


@dataclass(frozen=True, slots=True)
class BurstTimes:
    provider: str
    last_started_at: datetime | None
    last_ended_at: datetime | None
    last_outcome: str | None


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    current: list[CurrentPass]
    completed: list[CompletedPass]
    bursts: list[BurstTimes]


def snapshot(connection: Connection) -> MetricsSnapshot:
    return MetricsSnapshot(
        current_passes(connection), completed_passes(connection), burst_times(connection)
    )


def current_passes(connection: Connection) -> list[CurrentPass]:
    pending = (
        select(func.count())
        .select_from(marks)
        .where(
            marks.c.ingestion_id == ingestions.c.id,
            marks.c.deferred > 0,
            marks.c.finalized_at.is_(None),
        )
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            ingestions.c.provider_name,
            ingestions.c.status,
            ingestions.c.phase,
            ingestions.c.pages,
            ingestions.c.entities,
            ingestions.c.fallbacks,
            ingestions.c.attempts,
            pending.label("pending_pages"),
        )
        .where(ingestions.c.completion_ticket == OPEN_TICKET)
        .order_by(ingestions.c.provider_name)
    )
    return [CurrentPass(*row) for row in rows]


def completed_passes(connection: Connection) -> list[CompletedPass]:
    newest = (
        select(
            ingestions.c.provider_name,
            ingestions.c.created_at,
            ingestions.c.ingestion_completed_at,
            ingestions.c.entities,
            ingestions.c.removed,
            ingestions.c.last_error,
            func.row_number()
            .over(
                partition_by=ingestions.c.provider_name,
                order_by=ingestions.c.ingestion_completed_at.desc(),
            )
            .label("rank"),
        )
        .where(ingestions.c.ingestion_completed_at.is_not(None))
        .subquery()
    )
    rows = connection.execute(
        select(
            newest.c.provider_name,
            newest.c.created_at,
            newest.c.ingestion_completed_at,
            newest.c.entities,
            newest.c.removed,
            newest.c.last_error,
        )
        .where(newest.c.rank == 1)
        .order_by(newest.c.provider_name)
    )
    return [CompletedPass(*row) for row in rows]


def burst_times(connection: Connection) -> list[BurstTimes]:
    started = {
        name: at
        for name, at in connection.execute(
            select(bursts.c.provider_name, func.max(bursts.c.started_at)).group_by(
                bursts.c.provider_name
            )
        )
    }
    newest_end = (
        select(
            bursts.c.provider_name,
            bursts.c.ended_at,
            bursts.c.outcome,
            func.row_number()
            .over(partition_by=bursts.c.provider_name, order_by=bursts.c.ended_at.desc())
            .label("rank"),
        )
        .where(bursts.c.ended_at.is_not(None))
        .subquery()
    )
    ended = {
        row.provider_name: row
        for row in connection.execute(
            select(newest_end.c.provider_name, newest_end.c.ended_at, newest_end.c.outcome).where(
                newest_end.c.rank == 1
            )
        )
    }
    return [
        BurstTimes(
            name,
            started.get(name),
            ended[name].ended_at if name in ended else None,
            ended[name].outcome if name in ended else None,
        )
        for name in sorted(set(started) | set(ended))
    ]
