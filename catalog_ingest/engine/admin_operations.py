"""Operator actions, as core functions: tasks, the CLI and the HTTP API only wrap these."""

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog_ingest.contracts.errors import UserError
from catalog_ingest.contracts.locking import Lease, ensure_held
from catalog_ingest.contracts.states import NextAction, Status
from catalog_ingest.contracts.storage import Ingestion, IngestionRepository, Mark


@dataclass(frozen=True, slots=True)
class AdminResult:
    """What an admin action changed, in words an operator can read."""

    provider: str
    message: str
    ingestion_id: str | None = None


AdminAction = Callable[[IngestionRepository, str, datetime], AdminResult]
"""An action on one provider (trigger, start, reset), as the task, CLI and API call it."""


def _open(repository: IngestionRepository, provider: str, now: datetime) -> Ingestion:
    return repository.get_open(provider) or repository.open_ingestion(provider, now)


def trigger(repository: IngestionRepository, provider: str, now: datetime) -> AdminResult:
    """Make the provider's next action due now (and un-pause it)."""
    ingestion = _open(repository, provider, now)
    if ingestion.next_action is NextAction.PAUSE:
        repository.make_due(ingestion.id, now, NextAction.INGEST)
        return AdminResult(provider, "unpaused: a pass starts on the next tick", ingestion.id)
    repository.make_due(ingestion.id, now)
    return AdminResult(provider, f"next action '{ingestion.next_action}' is due now", ingestion.id)


def start(repository: IngestionRepository, provider: str, now: datetime) -> AdminResult:
    """Begin a new pass now: cancel the running pass, or end the rest early."""
    ingestion = _open(repository, provider, now)
    if ingestion.next_action is NextAction.REST:
        repository.make_due(ingestion.id, now)
        return AdminResult(provider, "rest ends now; a new pass opens", ingestion.id)
    untouched = ingestion.pages == 0 and ingestion.status is not Status.BURSTING
    if ingestion.next_action is NextAction.PAUSE or (
        untouched and ingestion.next_action is NextAction.INGEST
    ):
        repository.make_due(ingestion.id, now, NextAction.INGEST)
        return AdminResult(provider, "a fresh pass starts on the next tick", ingestion.id)
    repository.request_cancel(ingestion.id, now)
    return AdminResult(provider, "the running pass is canceled; a new one opens", ingestion.id)


CANCEL_PAUSE = timedelta(hours=24)
"""How long ``cancel`` leaves a provider idle, as Backstage's cancel route does."""


def cancel(
    repository: IngestionRepository,
    provider: str,
    now: datetime,
    pause: timedelta = CANCEL_PAUSE,
) -> AdminResult:
    """Stop the running pass and leave the provider idle for ``pause`` (or until a trigger).

    The pass is closed as canceled at once; its running burst, if any, stops at its next page
    (every write of a step requires the ingestion to still be open for ingesting). What the
    pass wrote stays; nothing is swept, since the pass never completed.
    """
    resume_at = now + pause
    opened = repository.cancel_and_pause(provider, now, resume_at)
    return AdminResult(
        provider,
        f"current ingestion canceled; paused until {resume_at:%Y-%m-%d %H:%M:%S} UTC "
        "(trigger or start resumes it earlier)",
        opened.id,
    )


def reset(repository: IngestionRepository, provider: str, now: datetime) -> AdminResult:
    """Forget the provider's ingestion state (catalog entities stay) and start a fresh pass."""
    purged = repository.purge_provider(provider)
    opened = repository.open_ingestion(provider, now)
    return AdminResult(provider, f"purged {purged} ingestion record(s); fresh pass", opened.id)


def cleanup(
    repository: IngestionRepository, providers: Iterable[str], now: datetime
) -> list[AdminResult]:
    """Purge every provider's ingestion state; leave each paused until triggered."""
    paused = repository.purge_all_and_pause(providers, now)
    return [
        AdminResult(ingestion.provider_name, "purged; paused until triggered", ingestion.id)
        for ingestion in paused
    ]


def marks(repository: IngestionRepository, provider: str) -> list[Mark]:
    """The committed pages of the provider's current pass."""
    ingestion = repository.get_open(provider)
    return repository.list_marks(ingestion.id) if ingestion else []


def clear_finished(repository: IngestionRepository, provider: str) -> AdminResult:
    """Delete finished ingestions except the newest completed one."""
    count = repository.clear_finished(provider)
    return AdminResult(provider, f"deleted {count} finished ingestion record(s)")


FORGET_BATCH = 1000
"""Refs deleted (and re-merged) per transaction by ``forget_source``."""


def forgettable_records(
    repository: IngestionRepository, source: str, configured: Collection[str]
) -> int:
    """How many records ``forget_source`` would delete; refuses a configured provider (its
    records are its own: ``ingest reset`` drops its state) and a source with nothing stored."""
    if source in configured:
        raise UserError(f"{source} is a configured provider; to drop its state use `ingest reset`")
    records = dict(repository.orphaned_sources(configured)).get(source, 0)
    if records == 0 and not repository.list_ingestions(source):
        raise UserError(f"no records or ingestions of source {source}: nothing to forget")
    return records


def forget_source(
    repository: IngestionRepository,
    source: str,
    configured: Collection[str],
    now: datetime,
    batch: int = FORGET_BATCH,
    *,
    lease: Lease | None = None,
) -> AdminResult:
    """Delete the records of a source no configured provider owns (a renamed or removed
    provider): their catalog entries move to another source's record or go, as in a sweep.

    Callers that run concurrently with workers hold the source's provider lock and pass its
    ``lease`` (a stale worker may still run a burst under that name): checked before deleting.
    """
    forgettable_records(repository, source, configured)
    ensure_held(lease)
    removed = repository.forget_source(source, now, batch)
    return AdminResult(source, f"removed {removed} record(s) and its ingestion records")
