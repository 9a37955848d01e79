"""Celery beat's schedule, built from the configured providers: one ``tick`` per provider.

Each provider is ticked at its ``burst_interval`` (never more often than every 5 seconds). A tick
expires after one interval: when workers fall behind, stale ticks are dropped rather than
executed in a burst of catch-up work (the next fresh tick does the same job).
"""

from typing import Any

from catalog_ingest.config import AppConfig

TICK_TASK = "ingest.tick"
MIN_TICK_SECONDS = 5.0


def build_beat_schedule(config: AppConfig) -> dict[str, dict[str, Any]]:
    """Celery's ``beat_schedule`` mapping for ``config``'s providers."""
    schedule: dict[str, dict[str, Any]] = {}
    for provider in config.all_providers():
        interval = max(MIN_TICK_SECONDS, provider.options.burst_interval)
        schedule[f"tick {provider.name}"] = {
            "task": TICK_TASK,
            "schedule": interval,
            "args": (provider.name,),
            "options": {"expires": interval, "queue": "ingest"},
        }
    return schedule
