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

from catalog_ingest.engine.options import ProviderOptions


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


@dataclass(frozen=True, slots=True)
class DetailLimits:
    """Time limits of a detail task: the soft one ends it cleanly (the item stays pending and
    its page is dispatched again later), the hard one kills it."""

    soft: float
    hard: float

    @classmethod
    def for_settings(cls, time_limit: float, margin: float) -> "DetailLimits":
        return cls(soft=time_limit, hard=time_limit + margin)


def check_visibility_timeout(
    limits: list[BurstLimits], visibility_timeout: float, detail: DetailLimits | None = None
) -> None:
    """Refuse a configuration where a running burst or detail task could be redelivered."""
    longest = max([*(limit.lock_ttl for limit in limits), detail.hard if detail else 0.0])
    if visibility_timeout <= longest:
        raise ValueError(
            f"visibility_timeout ({visibility_timeout:g}s) must exceed the longest lock TTL or "
            f"detail task limit ({longest:g}s); raise INGEST_VISIBILITY_TIMEOUT or lower burst "
            "lengths, margins or INGEST_DETAIL_TIME_LIMIT"
        )
