"""The provider lock on Redis: random token, TTL, renewal thread, compare-and-delete release.

redis-py's :class:`redis.lock.Lock` keeps its token thread-local by default, which would make the
renewal thread's ``reacquire`` fail with "not owned"; the lock is therefore created with
``thread_local=False``. Renewal resets the TTL every third of it; the first failed renewal marks
the lease lost, and the burst stops before its next write.
"""

import contextlib
import threading

import redis
import structlog
from redis.exceptions import LockError, RedisError

from catalog_ingest.contracts.locking import Lease
from catalog_ingest.coordination import redis_keys as keys

log = structlog.get_logger(__name__)


class RedisLease:
    """A held Redis lock, renewed in the background until released or lost."""

    def __init__(self, lock: redis.lock.Lock, provider: str, ttl: float) -> None:
        self._lock = lock
        self._provider = provider
        self._ttl = ttl
        self._lost = threading.Event()
        self._stopped = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew, name=f"lock-renewal-{provider}", daemon=True
        )
        self._renewer.start()

    @property
    def provider(self) -> str:
        return self._provider

    def _renew(self) -> None:
        while not self._stopped.wait(self._ttl / 3):
            try:
                self._lock.reacquire()
            except (LockError, RedisError) as error:
                log.warning("provider lock lost", provider=self._provider, reason=str(error))
                self._lost.set()
                return

    def held(self) -> bool:
        if self._lost.is_set():
            return False
        try:
            owned = bool(self._lock.owned())
        except RedisError:
            owned = False
        if not owned:
            self._lost.set()
        return owned

    def release(self) -> None:
        self._stopped.set()
        self._renewer.join(timeout=5)
        # Expired or taken over: nothing of ours is left to release.
        with contextlib.suppress(LockError, RedisError):
            self._lock.release()


class RedisProviderLock:
    """One lock per provider, shared by every worker using the same Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def try_acquire(self, provider: str, ttl: float) -> Lease | None:
        lock = self._client.lock(
            keys.provider_lock(provider), timeout=ttl, blocking=False, thread_local=False
        )
        if not lock.acquire(blocking=False):
            return None
        return RedisLease(lock, provider, ttl)
