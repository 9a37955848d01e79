"""``ingest sources``: every configured provider and source with its type, priority, schedule,
TTL, last refresh (its newest completed pass), record count and last error.

A provider's schedule is its rest between passes; a source's is its ``schedule`` (the same
rest); a push source has none. Errors are redacted like every other output.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from catalog_ingest.app.config.schema import AppConfig, ProviderConfig
from catalog_ingest.contracts.states import OPEN_TICKET
from catalog_ingest.contracts.storage import Ingestion, IngestionRepository
from catalog_ingest.engine.redaction import Redactor


def source_rows(
    config: AppConfig,
    repository: IngestionRepository,
    records: Mapping[str, int],
    redactor: Redactor,
) -> list[dict[str, Any]]:
    """One row per configured provider and source, in configuration order; ``records`` maps
    each source name to how many records it stores."""
    sources = {source.name: source for source in config.sources}
    rows = []
    for provider in config.all_providers():
        source = sources.get(provider.name)
        ingestions = repository.list_ingestions(provider.name)
        rows.append(
            {
                "name": provider.name,
                "kind": "source" if source else "provider",
                "type": provider.type,
                "priority": provider.priority,
                "schedule_seconds": _schedule(provider),
                "ttl_seconds": provider.options.ttl_seconds,
                "last_refresh": _last_refresh(ingestions),
                "records": records.get(provider.name, 0),
                "last_error": _last_error(ingestions, redactor),
            }
        )
    return rows


def _schedule(provider: ProviderConfig) -> float | None:
    return provider.options.rest_length * 60 if provider.scheduled else None


def _last_refresh(ingestions: list[Ingestion]) -> str | None:
    completed = [i.ingestion_completed_at for i in ingestions if i.ingestion_completed_at]
    return max(completed).isoformat() if completed else None


def _last_error(ingestions: list[Ingestion], redactor: Redactor) -> str | None:
    """The open pass's error (a failure it backs off from, or a refused sweep)."""
    for ingestion in ingestions:
        if ingestion.completion_ticket == OPEN_TICKET and ingestion.last_error:
            return redactor.redact(ingestion.last_error)
    return None


def render_sources(rows: list[dict[str, Any]], console: Console) -> None:
    if not rows:
        console.print("no providers or sources configured")
        return
    table = Table()
    for column in ("name", "kind", "type", "priority", "schedule", "TTL", "last refresh"):
        table.add_column(column, no_wrap=True)
    table.add_column("records", justify="right")
    table.add_column("last error", overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["kind"],
            row["type"],
            str(row["priority"]),
            _duration(row["schedule_seconds"], none="push"),
            _duration(row["ttl_seconds"], none="-"),
            _when(row["last_refresh"]),
            f"{row['records']:,}",
            row["last_error"] or "-",
        )
    console.print(table)


def _duration(seconds: float | None, none: str) -> str:
    if seconds is None:
        return none
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _when(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S") if iso else "never"
