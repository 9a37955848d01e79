"""Time source of the engine, injectable so tests can drive the state table deterministically."""

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Wall time for schedules, monotonic time for burst deadlines."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to: for tests and for the demo's skipped waits."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta | float) -> None:
        """Move both clocks forward by ``delta`` (seconds or a timedelta)."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def advance_to(self, when: datetime) -> None:
        """Move forward to ``when`` (no-op when it is already past)."""
        if when > self._now:
            self.advance(when - self._now)


class FastForwardClock(SystemClock):
    """Real time plus skipped waits: the demo runs a whole schedule without sleeping."""

    def __init__(self) -> None:
        self._skipped = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self._skipped)

    def monotonic(self) -> float:
        return super().monotonic() + self._skipped

    def skip_to(self, when: datetime) -> None:
        """Jump forward to ``when`` instead of waiting for it."""
        gap = (when - self.now()).total_seconds()
        if gap > 0:
            self._skipped += gap
