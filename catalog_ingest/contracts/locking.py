"""The provider lock: at most one ingestion step per provider runs at a time.

A :class:`ProviderLock` hands out a :class:`Lease`. The lock alone is not the safety net (a
paused or partitioned holder can outlive its TTL): after taking the lease the engine increments
the ingestion's fence, and the store refuses every write carrying an older fence. The lease adds
a fast path: a step checks :meth:`Lease.held` before each of its writes (page commits, sweep
batches, state changes) and stops as soon as the lease is gone, so a holder that lost its lock
writes nothing more even when nobody took over.
"""

from typing import Protocol

from catalog_ingest.contracts.errors import IngestError, StepStoppedError


class LockLostError(StepStoppedError):
    """The lease on the provider lock was lost during a step."""


class ProviderBusyError(IngestError):
    """The provider's lock stayed held (by a burst or another event) for the whole wait."""


class Lease(Protocol):
    """Proof of holding a provider lock."""

    @property
    def provider(self) -> str: ...

    def held(self) -> bool:
        """True while the lock is still ours (may ask the lock server)."""
        ...

    def release(self) -> None:
        """Give the lock up (compare-and-delete: never someone else's)."""
        ...


def ensure_held(lease: Lease | None) -> None:
    """Raise :class:`LockLostError` when ``lease`` (if any) is gone: call before each write."""
    if lease is not None and not lease.held():
        raise LockLostError(f"lock on provider {lease.provider} was lost; the step stops unwritten")


class ProviderLock(Protocol):
    def try_acquire(self, provider: str, ttl: float) -> Lease | None:
        """Take the provider's lock without waiting; ``None`` when someone else holds it."""
        ...
