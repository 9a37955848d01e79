"""Status of each provider: the open pass and the last completed one, secrets redacted.

Providers that implement :class:`~catalog_ingest.contracts.provider.CursorDescriber` add a few
fields about the walk their pass's newest cursor resumes (the OpenChoreo provider: the API
generation it speaks and the listing it is in), under ``walk``.
"""

from collections.abc import Collection, Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Column, Table
from rich.text import Text

from catalog_ingest.app.live_status import eta_text, rate_text, relative_text, truncated
from catalog_ingest.contracts.provider import CursorDescriber
from catalog_ingest.contracts.states import OPEN_TICKET, NextAction, Phase
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
    repository: IngestionRepository,
    redactor: Redactor,
    provider: str | None = None,
    describers: Mapping[str, CursorDescriber] | None = None,
    configured: Collection[str] = (),
) -> list[dict[str, Any]]:
    """One row per provider with its current pass and its newest completed pass.

    ``describers`` maps provider names to what describes their cursors (optional). With
    ``configured`` provider names, a source storing records that none of them owns gets
    ``orphaned_records`` in its row (a row of its own when it has no ingestion records)."""
    rows: dict[str, dict[str, Any]] = {}
    for ingestion in repository.list_ingestions(provider):
        row = rows.setdefault(ingestion.provider_name, {"provider": ingestion.provider_name})
        if ingestion.completion_ticket == OPEN_TICKET:
            key = "current"
            row[key] = _describe(ingestion, redactor)
            row[key]["pending_pages"] = len(repository.pending_pages(ingestion.id))
        elif ingestion.next_action is NextAction.DONE and "last_completed" not in row:
            key = "last_completed"
            row[key] = _describe(ingestion, redactor)
        else:
            continue
        describer = (describers or {}).get(ingestion.provider_name)
        walk = _walk(repository, describer, ingestion.id) if describer is not None else {}
        if walk:
            row[key]["walk"] = walk
    if configured:
        _add_orphans(rows, repository, configured, provider)
    return list(rows.values())


def _add_orphans(
    rows: dict[str, dict[str, Any]],
    repository: IngestionRepository,
    configured: Collection[str],
    provider: str | None,
) -> None:
    """Count the records of sources no configured provider owns (a renamed or removed
    provider's: they keep winning the merge until ``ingest forget`` removes them). Without a
    configured provider (a database shown without its configuration) nothing is called
    orphaned."""
    for source, count in repository.orphaned_sources(configured):
        if provider is None or source == provider:
            rows.setdefault(source, {"provider": source})["orphaned_records"] = count


def _walk(
    repository: IngestionRepository, describer: CursorDescriber, ingestion_id: str
) -> dict[str, str]:
    """What the describer says about the pass's newest cursor; {} without one."""
    cursor = repository.last_cursor(ingestion_id)
    if cursor is None:
        return {}
    try:
        return {str(key): str(value) for key, value in describer.describe_cursor(cursor).items()}
    except Exception:  # status must show, whatever a provider's describer does
        return {}


def _walk_text(row: Mapping[str, Any]) -> str:
    walk = row.get("current", {}).get("walk") or row.get("last_completed", {}).get("walk") or {}
    return " ".join(f"{key}={value}" for key, value in walk.items()) or "-"


_SWEPT_PHASES = {Phase.SWEEPING.value, Phase.DONE.value}


def removed_figure(row: Mapping[str, Any]) -> int | str:
    """The current pass's removals once it has swept (or is sweeping); before that, the last
    completed pass's (the current pass has removed nothing yet)."""
    current = row.get("current", {})
    last = row.get("last_completed", {})
    if current.get("phase") in _SWEPT_PHASES or "removed" not in last:
        return int(current.get("removed", 0)) if current else "-"
    return int(last["removed"])


def live_table(rows: list[dict[str, Any]]) -> RenderableType:
    """The compact table ``ingest status --watch`` refreshes (rows with live figures, see
    :func:`catalog_ingest.app.live_status.add_live_figures`), orphaned sources under it."""
    if not rows:
        return Text("no ingestions yet")
    table = Table(expand=True)  # the error takes what the figures leave, cut to one line
    for name in ("provider", "phase", "pages", "entities", "rate", "ETA", "next action"):
        table.add_column(name, no_wrap=True)
    table.add_column("last error", no_wrap=True, overflow="ellipsis", ratio=1)
    for row in rows:
        current = row.get("current", {})
        last = row.get("last_completed", {})
        table.add_row(
            row["provider"],
            current.get("phase", "-"),
            str(current.get("pages", "-")),
            str(current.get("entities", "-")),
            rate_text(current.get("rate_per_second")),
            eta_text(current.get("eta_seconds")),
            _next_action_text(current),
            truncated(current.get("last_error") or last.get("last_error")) or "-",
        )
    notes = [Text(line) for line in orphan_lines(rows)]
    return Group(table, *notes)


def _next_action_text(current: Mapping[str, Any]) -> str:
    if not current:
        return "-"
    action = current["next_action"]
    return f"{action} {relative_text(action, current.get('next_action_in_seconds'))}"


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
        Column("walk", min_width=16, overflow="fold"),
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
            str(removed_figure(row)),
            str(current.get("attempts", "-")),
            _walk_text(row),
            note[:200],
        )
    if not rows:
        console.print("no ingestions yet")
        return
    console.print(table)
    for line in orphan_lines(rows):
        console.print(line, highlight=False, markup=False)


def orphan_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per orphaned source, with the command that removes its records."""
    return [
        f"orphaned source {row['provider']}: {row['orphaned_records']} records "
        f"(no configured provider); remove them with: ingest forget {row['provider']}"
        for row in rows
        if "orphaned_records" in row
    ]
