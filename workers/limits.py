"""Time limits of a burst task and the lock that guards it, derived from the provider options.

The order that keeps them safe: soft limit < hard limit < lock TTL < broker visibility timeout.

- The engine itself ends a burst at a page boundary after ``burst_length``; the *soft* limit
  (``burst_length`` + margin) only catches a page that hangs, and is handled as an error
  (backoff), never as a crash.
- The *hard* limit kills a task that ignored the soft one.
- The *lock TTL* outlives the hard limit, so a live task never loses its lock to expiry even if
  a renewal is late; a killed worker's lock expires on its own after at most one TTL.
- The *visibility timeout* (Redis transport) outlives everything, so a running task is never
  redelivered to a second worker while the first still works on it.
"""

from dataclasses import dataclass

from catalog_ingest.options import ProviderOptions


@dataclass(frozen=True, slots=True)
class BurstLimits:
    soft: float
    hard: float
    lock_ttl: float

    @classmethod
    def for_options(cls, options: ProviderOptions, margin: float) -> "BurstLimits":
        soft = options.burst_length + margin
        hard = soft + margin
        return cls(soft=soft, hard=hard, lock_ttl=hard + margin)


def check_visibility_timeout(limits: list[BurstLimits], visibility_timeout: float) -> None:
    """Refuse a configuration where a running burst could be redelivered."""
    longest = max((limit.lock_ttl for limit in limits), default=0.0)
    if visibility_timeout <= longest:
        raise ValueError(
            f"visibility_timeout ({visibility_timeout:g}s) must exceed the longest lock TTL "
            f"({longest:g}s); raise INGEST_VISIBILITY_TIMEOUT or lower burst lengths/margins"
        )
