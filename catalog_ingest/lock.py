"""The provider lock: at most one ingestion step per provider runs at a time.

A :class:`ProviderLock` hands out a :class:`Lease`. The lock alone is not the safety net (a
paused or partitioned holder can outlive its TTL): after taking the lease the engine increments
the ingestion's fence, and the store refuses every write carrying an older fence. The lease adds
a fast path: a step checks :meth:`Lease.held` before each of its writes (page commits, sweep
batches, state changes) and stops as soon as the lease is gone, so a holder that lost its lock
writes nothing more even when nobody took over.
"""

import threading
import uuid
from typing import Protocol


class LockLostError(RuntimeError):
    """The lease on the provider lock was lost during a step."""


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


class _LocalLease:
    def __init__(self, owner: "InProcessProviderLock", provider: str, token: str) -> None:
        self._owner = owner
        self._provider = provider
        self.token = token

    @property
    def provider(self) -> str:
        return self._provider

    def held(self) -> bool:
        return self._owner.holder(self._provider) == self.token

    def release(self) -> None:
        self._owner.release(self._provider, self.token)


class InProcessProviderLock:
    """Lock for the embedded mode (one process): no TTL needed, a dead process holds nothing."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._holders: dict[str, str] = {}

    def try_acquire(self, provider: str, ttl: float) -> Lease | None:
        with self._mutex:
            if provider in self._holders:
                return None
            token = uuid.uuid4().hex
            self._holders[provider] = token
            return _LocalLease(self, provider, token)

    def holder(self, provider: str) -> str | None:
        with self._mutex:
            return self._holders.get(provider)

    def release(self, provider: str, token: str) -> None:
        with self._mutex:
            if self._holders.get(provider) == token:
                del self._holders[provider]

    def break_lock(self, provider: str) -> None:
        """Take the lock away from its holder (tests of lost leases)."""
        with self._mutex:
            self._holders.pop(provider, None)
