"""Intent-named transitions of ingestion records.

Transitions made by a burst are *guarded*: they apply only while the record's fence equals the
burst's and its next action is still ``ingest``. A refused guarded write raises
:class:`FencedError` (another holder took over, or the record is gone) or
:class:`StopRequestedError` (an operator asked for something else meanwhile).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from catalog_ingest.contracts.states import OPEN_TICKET, NextAction, Phase, Status
from catalog_ingest.contracts.storage import FencedError, Ingestion, StopRequestedError
from models.tables import bursts, ingestions, mark_entities

_DELETE_CHUNK = 500
"""Ingestion ids per statement when deleting their mark entities (SQLite's parameter limit)."""


def to_ingestion(row: Row[Any]) -> Ingestion:
    values = row._mapping
    return Ingestion(
        id=values["id"],
        provider_name=values["provider_name"],
        status=Status(values["status"]),
        next_action=NextAction(values["next_action"]),
        next_action_at=values["next_action_at"],
        last_error=values["last_error"],
        attempts=values["attempts"],
        created_at=values["created_at"],
        ingestion_completed_at=values["ingestion_completed_at"],
        rest_completed_at=values["rest_completed_at"],
        completion_ticket=values["completion_ticket"],
        fence=values["fence"],
        phase=Phase(values["phase"]),
        pages=values["pages"],
        entities=values["entities"],
        rejected=values["rejected"],
        removed=values["removed"],
        duplicates=values["duplicates"],
        fallbacks=values["fallbacks"],
    )


def get_open(connection: Connection, provider_name: str) -> Ingestion | None:
    row = connection.execute(
        select(ingestions).where(
            ingestions.c.provider_name == provider_name,
            ingestions.c.completion_ticket == OPEN_TICKET,
        )
    ).first()
    return to_ingestion(row) if row else None


def get(connection: Connection, ingestion_id: str) -> Ingestion | None:
    row = connection.execute(select(ingestions).where(ingestions.c.id == ingestion_id)).first()
    return to_ingestion(row) if row else None


def insert_open(
    connection: Connection, provider_name: str, now: datetime, next_action: NextAction
) -> bool:
    """Insert the open ingestion; False when another one is already open (unique ticket)."""
    status = Status.PAUSED if next_action is NextAction.PAUSE else Status.INTERSTITIAL
    try:
        with connection.begin_nested():
            connection.execute(
                ingestions.insert().values(
                    id=str(uuid.uuid4()),
                    provider_name=provider_name,
                    status=status,
                    next_action=next_action,
                    next_action_at=now,
                    last_error=None,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                    completion_ticket=OPEN_TICKET,
                    fence=0,
                    phase=Phase.LISTING,
                    pages=0,
                    entities=0,
                    rejected=0,
                    removed=0,
                    duplicates=0,
                    fallbacks=0,
                )
            )
    except IntegrityError:
        return False
    return True


def take_fence(connection: Connection, ingestion_id: str) -> int:
    fence = connection.execute(
        update(ingestions)
        .where(ingestions.c.id == ingestion_id)
        .values(fence=ingestions.c.fence + 1)
        .returning(ingestions.c.fence)
    ).scalar()
    if fence is None:
        raise FencedError(f"ingestion {ingestion_id} no longer exists")
    return int(fence)


def explain_refusal(connection: Connection, ingestion_id: str, fence: int) -> Exception:
    """Why a guarded write matched no row."""
    row = connection.execute(
        select(ingestions.c.fence, ingestions.c.next_action).where(ingestions.c.id == ingestion_id)
    ).first()
    if row is None:
        return FencedError(f"ingestion {ingestion_id} was removed (reset or cleanup)")
    if row.fence != fence:
        return FencedError(f"fence {fence} of ingestion {ingestion_id} superseded by {row.fence}")
    return StopRequestedError(f"next action of ingestion {ingestion_id} is now {row.next_action}")


def guarded_update(
    connection: Connection,
    ingestion_id: str,
    fence: int,
    values: dict[str, Any],
    *,
    require: NextAction | None = NextAction.INGEST,
) -> None:
    """Apply ``values`` only while the fence (and the next action) still hold."""
    statement = update(ingestions).where(
        ingestions.c.id == ingestion_id, ingestions.c.fence == fence
    )
    if require is not None:
        statement = statement.where(ingestions.c.next_action == require)
    if connection.execute(statement.values(**values)).rowcount != 1:
        raise explain_refusal(connection, ingestion_id, fence)


ABANDONED = "abandoned"
"""Outcome of a burst row its worker never ended (killed): closed when the next burst starts."""


def start_burst(
    connection: Connection, ingestion_id: str, fence: int, now: datetime, worker: str
) -> int:
    """Record a new burst; earlier bursts of the provider still open are closed as abandoned.

    The caller holds the provider's lock and has just taken the fence, so no earlier burst of
    this provider can still write: a row still open is a killed worker's (or one whose own end
    was lost), and it ended at the latest now.
    """
    guarded_update(connection, ingestion_id, fence, {"status": Status.BURSTING, "updated_at": now})
    provider = connection.execute(
        select(ingestions.c.provider_name).where(ingestions.c.id == ingestion_id)
    ).scalar_one()
    connection.execute(
        update(bursts)
        .where(bursts.c.provider_name == provider, bursts.c.ended_at.is_(None))
        .values(ended_at=now, outcome=ABANDONED)
    )
    return int(
        connection.execute(
            bursts.insert()
            .values(
                ingestion_id=ingestion_id,
                provider_name=provider,
                fence=fence,
                worker=worker[:200],
                started_at=now,
                pages=0,
                entities=0,
            )
            .returning(bursts.c.id)
        ).scalar_one()
    )


def finish_burst(
    connection: Connection, burst_id: int, now: datetime, outcome: str, pages: int, entities: int
) -> None:
    connection.execute(
        update(bursts)
        .where(bursts.c.id == burst_id)
        .values(ended_at=now, outcome=outcome, pages=pages, entities=entities)
    )


def close(
    connection: Connection, ingestion_id: str, fence: int, now: datetime, *, canceled: bool
) -> None:
    guarded_update(
        connection,
        ingestion_id,
        fence,
        {
            "status": Status.COMPLETE,
            "next_action": NextAction.CANCELED if canceled else NextAction.DONE,
            "completion_ticket": str(uuid.uuid4()),
            "rest_completed_at": None if canceled else now,
            "updated_at": now,
        },
        require=None,
    )


def cancel_open(connection: Connection, provider_name: str, now: datetime) -> None:
    """Close the provider's open ingestion as canceled, without its fence: an operator's
    cancel outranks the running burst, whose next guarded write is then refused."""
    connection.execute(
        update(ingestions)
        .where(
            ingestions.c.provider_name == provider_name,
            ingestions.c.completion_ticket == OPEN_TICKET,
        )
        .values(
            status=Status.COMPLETE,
            next_action=NextAction.CANCELED,
            completion_ticket=str(uuid.uuid4()),
            updated_at=now,
        )
    )


def pause_open_until(
    connection: Connection, provider_name: str, now: datetime, resume_at: datetime
) -> None:
    """Leave the open (fresh) ingestion idle until ``resume_at``; a trigger ends it early."""
    connection.execute(
        update(ingestions)
        .where(
            ingestions.c.provider_name == provider_name,
            ingestions.c.completion_ticket == OPEN_TICKET,
        )
        .values(status=Status.PAUSED, next_action_at=resume_at, updated_at=now)
    )


def clear_finished(connection: Connection, provider_name: str) -> int:
    """Delete finished ingestions except the newest completed (not canceled) one."""
    newest_done = (
        select(ingestions.c.id)
        .where(
            ingestions.c.provider_name == provider_name,
            ingestions.c.next_action == NextAction.DONE,
        )
        .order_by(ingestions.c.rest_completed_at.desc(), ingestions.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return delete_ingestions(
        connection,
        ingestions.c.provider_name == provider_name,
        ingestions.c.completion_ticket != OPEN_TICKET,
        ingestions.c.id.is_distinct_from(newest_done),
    )


def delete_ingestions(connection: Connection, *where: ColumnElement[bool]) -> int:
    """Delete the ingestions matching ``where`` with everything they own; returns how many.

    Marks go by cascade; mark entities (no key, see ``MarkEntityRow``) are deleted here, after
    their ingestions: deleting an ingestion waits for a page commit holding its row, and a
    commit that comes later is refused, so the second statement sees every mark entity.
    """
    deleted = connection.execute(delete(ingestions).where(*where).returning(ingestions.c.id))
    ids = list(deleted.scalars())
    for start in range(0, len(ids), _DELETE_CHUNK):
        chunk = ids[start : start + _DELETE_CHUNK]
        connection.execute(delete(mark_entities).where(mark_entities.c.ingestion_id.in_(chunk)))
    return len(ids)


def make_due(
    connection: Connection, ingestion_id: str, now: datetime, next_action: NextAction | None
) -> None:
    values: dict[str, Any] = {"next_action_at": now, "updated_at": now}
    if next_action is not None:
        values["next_action"] = next_action
        if next_action is NextAction.INGEST:
            values["status"] = Status.INTERSTITIAL
    connection.execute(update(ingestions).where(ingestions.c.id == ingestion_id).values(**values))


def purge_provider(connection: Connection, provider_name: str) -> int:
    return delete_ingestions(connection, ingestions.c.provider_name == provider_name)


def purge_all(connection: Connection) -> list[str]:
    names = connection.execute(select(ingestions.c.provider_name).distinct()).scalars().all()
    delete_ingestions(connection)
    return sorted(names)


def list_ingestions(connection: Connection, provider_name: str | None) -> list[Ingestion]:
    statement = select(ingestions).order_by(
        ingestions.c.provider_name, ingestions.c.created_at.desc()
    )
    if provider_name is not None:
        statement = statement.where(ingestions.c.provider_name == provider_name)
    return [to_ingestion(row) for row in connection.execute(statement)]
