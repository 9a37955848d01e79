"""The live figures of ``ingest status --watch``: rate, ETA and the next action's relative time.

Data only: :func:`add_live_figures` adds plain numbers to :func:`status_rows`'s rows (what
``--watch --json`` prints), the ``*_text`` helpers turn them into the short strings the live
table shows; the table itself is built in :mod:`catalog_ingest.app.status_view`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from catalog_ingest.contracts.states import NextAction, Phase
from catalog_ingest.contracts.storage import IngestionRepository

RATE_WINDOW = timedelta(seconds=60)
"""The rate is the entities the pass's pages marked over this last stretch of time."""

_LISTING_ACTIONS = {NextAction.INGEST.value, NextAction.BACKOFF.value}
"""Next actions of a pass still listing: only those have an ETA."""

_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """One refresh: the status rows with their live figures, and when they were read."""

    at: datetime
    rows: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document ``--watch --json`` prints per refresh."""
        return {"at": self.at.isoformat(), "providers": self.rows}


def pass_rate(
    repository: IngestionRepository, ingestion_id: str, created_at: datetime, now: datetime
) -> float:
    """Entities per second marked by the pass's pages over the last minute; a pass younger
    than a minute is measured over its own age (so its first minute is not underestimated)."""
    window = min(RATE_WINDOW, now - created_at)
    seconds = max(window.total_seconds(), 1.0)
    return repository.entities_marked_since(ingestion_id, now - window) / seconds


def eta_seconds(current: Mapping[str, Any], last: Mapping[str, Any], rate: float) -> float | None:
    """Seconds until the pass has listed as many entities as the previous completed pass, at
    the current rate; ``None`` when that cannot be told (no previous pass, no progress in the
    last minute, the listing over, or already past the previous pass's size)."""
    listing = current.get("phase") == Phase.LISTING.value
    if not listing or current.get("next_action") not in _LISTING_ACTIONS:
        return None
    previous = last.get("entities")
    if previous is None or rate <= 0:
        return None
    remaining = int(previous) - int(current.get("entities", 0))
    return remaining / rate if remaining > 0 else None


def add_live_figures(
    rows: list[dict[str, Any]], repository: IngestionRepository, now: datetime
) -> list[dict[str, Any]]:
    """Add ``rate_per_second``, ``eta_seconds`` and ``next_action_in_seconds`` (negative once
    past) to each row's current pass; rows are changed in place and returned."""
    for row in rows:
        current = row.get("current")
        if current is None:
            continue
        created_at = datetime.fromisoformat(current["created_at"])
        rate = pass_rate(repository, current["ingestion_id"], created_at, now)
        next_at = datetime.fromisoformat(current["next_action_at"])
        current["rate_per_second"] = round(rate, 3)
        current["eta_seconds"] = eta_seconds(current, row.get("last_completed", {}), rate)
        current["next_action_in_seconds"] = round((next_at - now).total_seconds(), 3)
    return rows


def duration_text(seconds: float) -> str:
    """The two largest units of a duration, whole seconds: ``45s``, ``4m 10s``, ``2h 5m``."""
    left = int(abs(seconds))
    parts: list[str] = []
    for unit, size in _UNITS:
        amount, left = divmod(left, size)
        if amount or parts:
            parts.append(f"{amount}{unit}")
    return " ".join(parts[:2]) or "0s"


def relative_text(next_action: str, seconds: float | None) -> str:
    """When the next action happens, relative to now: ``in 4m 10s``, ``due``, ``3s ago``."""
    if next_action == NextAction.PAUSE.value:
        return "on trigger"
    if seconds is None:
        return "-"
    if abs(seconds) < 1:
        return "due"
    return f"in {duration_text(seconds)}" if seconds > 0 else f"{duration_text(seconds)} ago"


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}/s"


def eta_text(eta: float | None) -> str:
    return "-" if eta is None else duration_text(eta)


def truncated(text: str | None, width: int = 60) -> str:
    """One line of at most ``width`` characters (an ellipsis marks a cut)."""
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"
