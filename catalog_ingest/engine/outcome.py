"""What one tick did, for callers (tasks, CLI, tests) and logs."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TickAction(StrEnum):
    """The action a tick performed."""

    NOT_DUE = "not due"
    """The next action is scheduled later; nothing was done."""
    PAUSED = "paused"
    """The provider is paused (after ``cleanup``) until triggered."""
    BURST = "burst"
    """A burst ran and the pass continues (interstitial)."""
    PASS_COMPLETED = "pass completed"
    """A burst reached the last page, swept, and the provider now rests."""
    BACKED_OFF = "backed off"
    """A burst failed; the provider waits its backoff delay."""
    RESUMED = "resumed"
    """A backoff delay ended; the next tick resumes from the last mark."""
    REST_COMPLETED = "rest completed"
    """A rest ended; the ingestion was closed and a new pass opened."""
    CANCELED = "canceled"
    """A pass was canceled on request and a new one opened."""
    FENCED = "fenced"
    """Another holder took over (or the record was reset) mid-step; this one wrote no more."""
    STOPPED = "stopped"
    """An operator changed the next action mid-burst; the burst ended without writing more."""


@dataclass(frozen=True, slots=True)
class TickOutcome:
    """The result of one tick of one provider."""

    action: TickAction
    provider: str
    ingestion_id: str | None = None
    next_action_at: datetime | None = None
    pages: int = 0
    entities: int = 0
    written: int = 0
    rejected: int = 0
    duplicates: int = 0
    """Entities dropped because an earlier page of the pass emitted their ref (clashes)."""
    fallbacks: int = 0
    """Deferred items resolved in a degraded way in this burst (inline resolution)."""
    deferred: int = 0
    """Deferred items this burst dispatched to child tasks."""
    removed: int = 0
    note: str | None = None
    """An error (backoff), a sweep refusal, or why a burst stopped."""
