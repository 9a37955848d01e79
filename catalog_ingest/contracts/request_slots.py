"""A global bound on upstream calls: ``slots`` calls in flight, each slot resting after use.

This is how ``maxConcurrentRequests`` and ``batchDelayMs`` hold across every worker and
process: a call first takes a slot, and hands it back when done; the slot is usable again only
``rest`` seconds later. With 5 slots and 100 ms of rest, calls of ~50 ms run at most 5 per
150 ms, the reference plugin's pacing. A holder that dies never hands its slot back: the slot
frees itself ``lease`` seconds after it was taken (keep ``lease`` above the longest call).

Slots are numbered; a process configured for N uses slots 0..N-1 and never removes or resets
any (a held slot stays held, a resting slot keeps its rest), so while processes disagree on N
(a rolling configuration change) the largest N bounds the calls.

Implementations: ``catalog_ingest.coordination.redis_slots`` (shared through Redis) and
``catalog_ingest.coordination.local_slots`` (one process).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from catalog_ingest.contracts.errors import IngestError


class SlotTimeoutError(IngestError, TimeoutError):
    """No slot became free within the wait allowed."""


class RequestSlots(Protocol):
    def hold(self, timeout: float) -> AbstractContextManager[None]:
        """Wait (at most ``timeout`` s) for a free slot and hold it for the ``with`` block."""
        ...


SlotsFactory = Callable[[int, float], RequestSlots]
"""Builds in-process slots from ``(max_concurrent_requests, batch_delay seconds)``: how the
engine bounds the detail calls it makes itself (no dispatcher)."""
