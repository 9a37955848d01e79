"""The provider lock of the embedded mode: one process, so a mutex and a token suffice."""

import threading
import uuid

from catalog_ingest.contracts.locking import Lease


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
