"""Request slots within one process (the embedded mode and inline resolution)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from catalog_ingest.contracts.request_slots import SlotTimeoutError

POLL_CAP = 0.05
"""Longest sleep between two attempts to take a slot."""


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
