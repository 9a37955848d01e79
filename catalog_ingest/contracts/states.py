"""Statuses and next actions of an ingestion record (the engine's state table)."""

from enum import StrEnum


class Status(StrEnum):
    """What an ingestion is doing, as shown in status displays."""

    BURSTING = "bursting"
    """A burst is running (or died while running: the next tick resumes it)."""
    INTERSTITIAL = "interstitial"
    """Between two bursts of the same pass."""
    RESTING = "resting"
    """The pass is complete and swept; waiting ``rest_length`` before the next pass."""
    BACKING_OFF = "backing off"
    """The last burst failed; waiting the backoff delay before resuming from the last mark."""
    PAUSED = "paused"
    """Left idle by ``cleanup`` (next action ``pause``: until ``trigger`` or ``start``) or by
    ``cancel`` (next action ``ingest``, due after the pause, or at a ``trigger``)."""
    COMPLETE = "complete"
    """Closed: the pass finished, or was canceled (see ``next_action``)."""


class NextAction(StrEnum):
    """What the next due tick does with the open ingestion."""

    INGEST = "ingest"
    """Run a burst from the last mark's cursor."""
    BACKOFF = "backoff"
    """Backoff delay is running; when due, go back to ``ingest``."""
    REST = "rest"
    """Rest is running; when due, close this ingestion and open a new one."""
    CANCEL = "cancel"
    """Close this ingestion as canceled and open a new one."""
    PAUSE = "pause"
    """Do nothing until an operator triggers the provider."""
    DONE = "nothing (done)"
    """Terminal: the pass completed."""
    CANCELED = "nothing (canceled)"
    """Terminal: the pass was canceled."""


class Phase(StrEnum):
    """Progress of one pass, for status displays and crash recovery."""

    LISTING = "listing"
    """Pages are being fetched."""
    AWAITING_DETAILS = "awaiting details"
    """The final listing page is committed; some pages still wait for their detail calls.
    The sweep waits for them."""
    SWEEPING = "sweeping"
    """The final page is committed; stale entities are being removed."""
    DONE = "done"
    """Listing and sweep are complete."""


OPEN_TICKET = "open"
"""``completion_ticket`` of the one open ingestion per provider."""
