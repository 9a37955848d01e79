"""Request slots shared through Redis by every worker and process of a deployment.

A sorted set scored by the instant each slot is free again, using Redis' clock (so machines'
clocks do not matter); the acquire and release steps are Lua scripts (``lua/``) so each is one
atomic round trip. A waiter whose slots are all held blocks on a list that every hand-back
pushes a notice to, so a slot handed back is taken again within a Redis round trip instead of
at the next poll; a waiter that only has to let a slot rest sleeps until the rest is over.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files

import redis

from catalog_ingest.contracts.request_slots import SlotTimeoutError
from catalog_ingest.coordination import redis_keys

WAKE_CAP = 1.0
"""Longest wait for a hand-back notice before trying again anyway (a safety net: a slot whose
holder died frees itself without any notice, at a time the waiter already knows)."""


def _script(name: str) -> str:
    return (files("catalog_ingest.coordination") / "lua" / name).read_text(encoding="utf-8")


class RedisRequestSlots:
    """Slots of one provider, shared by every process using the same Redis."""

    def __init__(
        self,
        client: redis.Redis,
        provider: str,
        slots: int,
        rest: float,
        lease: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._keys = [redis_keys.request_slots(provider), redis_keys.request_slot_holders(provider)]
        self._handed_back = redis_keys.request_slots_handed_back(provider)
        self._client = client
        self._slots = slots
        self._rest_ms = int(rest * 1000)
        self._lease_ms = int(lease * 1000)
        self._acquire = client.register_script(_script("acquire_slot.lua"))
        self._release = client.register_script(_script("release_slot.lua"))
        self._sleep = sleep

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while True:
            slot, wait_ms = self._acquire(
                keys=self._keys, args=[self._slots, self._lease_ms, token]
            )
            if int(slot) >= 0:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SlotTimeoutError(f"no request slot free within {timeout:g}s")
            self._wait(int(wait_ms), remaining)
        try:
            yield
        finally:
            self._release(
                keys=[*self._keys, self._handed_back],
                args=[int(slot), token, self._rest_ms, self._slots, self._lease_ms],
            )

    def _wait(self, wait_ms: int, remaining: float) -> None:
        """Until a slot may be free: ``wait_ms`` is when the first one is free at the latest.

        Within the rest, a slot is resting: nothing frees one sooner, so sleep. Beyond it, every
        slot is held: block until a holder hands one back (or the first lease runs out).
        """
        if wait_ms <= self._rest_ms:
            self._sleep(max(0.001, min(wait_ms / 1000, remaining)))
            return
        self._client.blpop(
            [self._handed_back], timeout=max(0.001, min(wait_ms / 1000, WAKE_CAP, remaining))
        )
