"""Deterministic pseudo-random numbers keyed by a name, so data never depends on call order."""

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_UNIT_BYTES = 7
_UNIT_SCALE = float(1 << (8 * _UNIT_BYTES))


class Draws:
    """A stream of numbers derived from ``key``: the same key always yields the same stream.

    Unlike ``random.Random(key)``, it costs one small hash per 64 bytes, so generating a million
    records on demand stays cheap.
    """

    def __init__(self, *key: object) -> None:
        self._key = "\x1f".join(str(part) for part in key).encode()
        self._block = 0
        self._buffer = b""

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            block = self._block.to_bytes(4, "big")
            self._buffer += hashlib.blake2b(self._key + block, digest_size=64).digest()
            self._block += 1
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def unit(self) -> float:
        """A float in [0, 1)."""
        return int.from_bytes(self._take(_UNIT_BYTES), "big") / _UNIT_SCALE

    def below(self, bound: int) -> int:
        """An int in [0, bound)."""
        return int(self.unit() * bound)

    def pick(self, choices: Sequence[T]) -> T:
        return choices[self.below(len(choices))]

    def weighted(self, choices: Sequence[tuple[T, float]]) -> T:
        """One of ``choices`` (value, weight) with probability proportional to its weight."""
        target = self.unit() * sum(weight for _, weight in choices)
        for value, weight in choices:
            target -= weight
            if target < 0:
                return value
        return choices[-1][0]

    def hex(self, length: int) -> str:
        return self._take((length + 1) // 2).hex()[:length]


def stable_int(*key: object) -> int:
    """A non-negative int derived from ``key`` (first 8 bytes of its stream)."""
    return int.from_bytes(Draws(*key)._take(8), "big")
