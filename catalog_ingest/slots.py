"""A global bound on upstream calls: ``slots`` calls in flight, each slot resting after use.

This is how ``maxConcurrentRequests`` and ``batchDelayMs`` hold across every worker and
process: a call first takes a slot, and hands it back when done; the slot is usable again only
``rest`` seconds later. With 5 slots and 100 ms of rest, calls of ~50 ms run at most 5 per
150 ms, the reference plugin's pacing. A holder that dies never hands its slot back: the slot
frees itself ``lease`` seconds after it was taken (keep ``lease`` above the longest call).

Slots are numbered; a process configured for N uses slots 0..N-1 and never removes or resets
any (a held slot stays held, a resting slot keeps its rest), so while processes disagree on N
(a rolling configuration change) the largest N bounds the calls.

:class:`RedisRequestSlots` shares slots through Redis (a sorted set scored by the instant each
slot is free again, using Redis' clock, so machines' clocks do not matter). A waiter whose
slots are all held blocks on a list that every hand-back pushes a notice to, so a slot handed
back is taken again within a Redis round trip instead of at the next poll; a waiter that only
has to let a slot rest sleeps until the rest is over;
:class:`LocalRequestSlots` is the in-process equivalent for the embedded mode.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import redis

from catalog_ingest import keys

POLL_CAP = 0.05
"""Longest sleep between two attempts to take a slot in the embedded mode."""

WAKE_CAP = 1.0
"""Longest wait for a hand-back notice before trying again anyway (a safety net: a slot whose
holder died frees itself without any notice, at a time the waiter already knows)."""


class SlotTimeoutError(TimeoutError):
    """No slot became free within the wait allowed."""


class RequestSlots(Protocol):
    def hold(self, timeout: float) -> AbstractContextManager[None]:
        """Wait (at most ``timeout`` s) for a free slot and hold it for the ``with`` block."""
        ...


_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local slots = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
-- slots are only ever added as 0..n-1: at least `slots` members means ours all exist
if redis.call('ZCARD', KEYS[1]) < slots then
  for i = 0, slots - 1 do
    redis.call('ZADD', KEYS[1], 'NX', 0, tostring(i))
  end
end
local earliest = nil
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local member, score = members[i], tonumber(members[i + 1])
  if tonumber(member) < slots then
    if score <= now then
      redis.call('ZADD', KEYS[1], now + lease, member)
      redis.call('HSET', KEYS[2], member, ARGV[3])
      return {tonumber(member), 0}
    end
    if earliest == nil or score < earliest then
      earliest = score
    end
  end
end
return {-1, earliest - now}
"""
_RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
return 1
"""


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
        self._keys = [keys.request_slots(provider), keys.request_slot_holders(provider)]
        self._handed_back = keys.request_slots_handed_back(provider)
        self._client = client
        self._slots = slots
        self._rest_ms = int(rest * 1000)
        self._lease_ms = int(lease * 1000)
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
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


class LocalRequestSlots:
    """The same bound within one process (embedded mode)."""

    def __init__(self, slots: int, rest: float) -> None:
        self._free_at = [0.0] * slots
        self._held = [False] * slots
        self._rest = rest
        self._condition = threading.Condition()

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                now = time.monotonic()
                ready = [i for i, at in enumerate(self._free_at) if not self._held[i] and at <= now]
                if ready:
                    slot = ready[0]
                    self._held[slot] = True
                    break
                if now >= deadline:
                    raise SlotTimeoutError(f"no request slot free within {timeout:g}s")
                resting = [at for i, at in enumerate(self._free_at) if not self._held[i]]
                wait = min([*(at - now for at in resting), POLL_CAP, deadline - now])
                self._condition.wait(max(0.001, wait))
        try:
            yield
        finally:
            with self._condition:
                self._held[slot] = False
                self._free_at[slot] = time.monotonic() + self._rest
                self._condition.notify_all()
