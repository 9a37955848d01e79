"""Celery beat's schedule, built from the configured providers: one ``tick`` per provider, one
``expire`` every minute for the whole catalog, one ``project`` (the read API's projection)
every 5 seconds.

Each provider is ticked at its ``burst_interval`` (never more often than every 5 seconds). A tick
expires after one interval: when workers fall behind, stale ticks are dropped rather than
executed in a burst of catch-up work (the next fresh tick does the same job).
"""

from typing import Any

from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.engine.options import ProviderOptions
from workers import task_names

MIN_TICK_SECONDS = 5.0
EXPIRY_SECONDS = 60.0
"""``ingest.expire`` runs every minute: a record outlives its TTL by at most about that (merges
ignore it from the instant it expires)."""
PROJECTION_SECONDS = 5.0
"""``ingest.project`` runs every 5 seconds: the read API's projection trails the change feed by
about that when nobody reads (a reader catches up before answering)."""


def tick_interval(options: ProviderOptions) -> float:
    """Seconds between a provider's ticks, which is also how long a tick (or burst) stays valid."""
    return max(MIN_TICK_SECONDS, options.burst_interval)


def build_beat_schedule(config: AppConfig) -> dict[str, dict[str, Any]]:
    """Celery's ``beat_schedule`` mapping for ``config``'s providers and sources (a push
    source has no passes: nothing to tick)."""
    schedule: dict[str, dict[str, Any]] = {}
    for provider in config.all_providers():
        if not provider.scheduled:
            continue
        interval = tick_interval(provider.options)
        schedule[f"tick {provider.name}"] = {
            "task": task_names.TICK,
            "schedule": interval,
            "args": (provider.name,),
            "options": {"expires": interval},
        }
    return schedule


def upkeep_schedule() -> dict[str, dict[str, Any]]:
    """Beat's entries that do not depend on the configuration: the catalog's expiry and the
    read API's projection."""
    return {
        "expire": {
            "task": task_names.EXPIRE,
            "schedule": EXPIRY_SECONDS,
            "options": {"expires": EXPIRY_SECONDS},
        },
        "project": {
            "task": task_names.PROJECT,
            "schedule": PROJECTION_SECONDS,
            "options": {"expires": PROJECTION_SECONDS},
        },
    }
