"""Status of each provider: the open pass and the last completed one, secrets redacted."""

from typing import Any

from rich.console import Console
from rich.table import Table

from catalog_ingest.contracts.states import OPEN_TICKET, NextAction
from catalog_ingest.contracts.storage import Ingestion, IngestionRepository
from catalog_ingest.engine.redaction import Redactor


def _describe(ingestion: Ingestion, redactor: Redactor) -> dict[str, Any]:
    return {
        "ingestion_id": ingestion.id,
        "status": str(ingestion.status),
        "next_action": str(ingestion.next_action),
        "next_action_at": ingestion.next_action_at.isoformat(),
        "phase": str(ingestion.phase),
        "pages": ingestion.pages,
        "entities": ingestion.entities,
        "rejected": ingestion.rejected,
        "duplicates": ingestion.duplicates,
        "fallbacks": ingestion.fallbacks,
        "removed": ingestion.removed,
        "attempts": ingestion.attempts,
        "fence": ingestion.fence,
        "last_error": redactor.redact(ingestion.last_error) if ingestion.last_error else None,
        "created_at": ingestion.created_at.isoformat(),
        "ingestion_completed_at": (
            ingestion.ingestion_completed_at.isoformat()
            if ingestion.ingestion_completed_at
            else None
        ),
    }


def status_rows(
    repository: IngestionRepository, redactor: Redactor, provider: str | None = None
) -> list[dict[str, Any]]:
    """One row per provider with its current pass and its newest completed pass."""
    rows: dict[str, dict[str, Any]] = {}
    for ingestion in repository.list_ingestions(provider):
        row = rows.setdefault(ingestion.provider_name, {"provider": ingestion.provider_name})
        if ingestion.completion_ticket == OPEN_TICKET:
            row["current"] = _describe(ingestion, redactor)
            row["current"]["pending_pages"] = len(repository.pending_pages(ingestion.id))
        elif ingestion.next_action is NextAction.DONE and "last_completed" not in row:
            row["last_completed"] = _describe(ingestion, redactor)
    return list(rows.values())


def render_status(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(
        "provider",
        "status",
        "next action",
        "due",
        "phase",
        "pages",
        "entities",
        "rejected",
        "duplicates",
        "fallbacks",
        "pending pages",
        "removed",
        "attempts",
        "last error / sweep note",
    )
    for row in rows:
        current = row.get("current", {})
        last = row.get("last_completed", {})
        note = current.get("last_error") or last.get("last_error") or ""
        table.add_row(
            row["provider"],
            current.get("status", "-"),
            current.get("next_action", "-"),
            current.get("next_action_at", "-"),
            current.get("phase", "-"),
            str(current.get("pages", "-")),
            str(current.get("entities", "-")),
            str(current.get("rejected", "-")),
            str(current.get("duplicates", "-")),
            str(current.get("fallbacks", "-")),
            str(current.get("pending_pages", "-")),
            str(last.get("removed", current.get("removed", "-"))),
            str(current.get("attempts", "-")),
            note[:200],
        )
    if not rows:
        console.print("no ingestions yet")
        return
    console.print(table)
