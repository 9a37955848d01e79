"""Celery beat's schedule, built from the configured providers: one ``tick`` per provider.

Each provider is ticked at its ``burst_interval`` (never more often than every 5 seconds). A tick
expires after one interval: when workers fall behind, stale ticks are dropped rather than
executed in a burst of catch-up work (the next fresh tick does the same job).
"""

from typing import Any

from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.engine.options import ProviderOptions
from workers import task_names

MIN_TICK_SECONDS = 5.0


def tick_interval(options: ProviderOptions) -> float:
    """Seconds between a provider's ticks, which is also how long a tick (or burst) stays valid."""
    return max(MIN_TICK_SECONDS, options.burst_interval)


def build_beat_schedule(config: AppConfig) -> dict[str, dict[str, Any]]:
    """Celery's ``beat_schedule`` mapping for ``config``'s providers."""
    schedule: dict[str, dict[str, Any]] = {}
    for provider in config.all_providers():
        interval = tick_interval(provider.options)
        schedule[f"tick {provider.name}"] = {
            "task": task_names.TICK,
            "schedule": interval,
            "args": (provider.name,),
            "options": {"expires": interval},
        }
    return schedule
