"""``ingest explain REF``: where each field of a merged entity came from."""

import json
from typing import Annotated

import typer

from catalog_ingest.aggregation.entity_rules import InvalidEntityError, parse_ref
from catalog_ingest.aggregation.explanation import Explanation, RecordLine, explain
from catalog_ingest.contracts.errors import UserError
from cli.common import ConfigOption, DatabaseOption, app, runtime_for

RefArgument = Annotated[
    str, typer.Argument(help="Entity ref: kind:namespace/name (namespace default if left out).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object instead of text.")]


@app.command("explain")
def explain_command(
    ref: RefArgument,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Show, field by field, which source each value of a merged entity came from, and the
    source records behind it (priority, merge mode, expiry, last update)."""
    try:
        full_ref = parse_ref(ref)
    except InvalidEntityError as error:
        raise UserError(f"{ref!r} is not an entity ref: {error}") from None
    runtime = runtime_for(config, database_url, read_only=True)
    try:
        entry = runtime.repository.catalog_entry(full_ref)
        now = runtime.engine.clock.now()
    finally:
        runtime.close()
    if entry is None:
        raise UserError(f"no source holds {full_ref}")
    explanation = explain(entry, now)
    if as_json:
        typer.echo(json.dumps(explanation.as_json(), indent=2))
        return
    for line in render(explanation):
        typer.echo(line)


def render(explanation: Explanation) -> list[str]:
    """The text form: a header, the records in merge order, then the fields."""
    lines = [
        f"{explanation.ref}  hash {(explanation.content_hash or '-')[:12]}  "
        f"feed position {explanation.feed_position or '-'}"
    ]
    if explanation.entity is None:
        lines.append("not in the catalog: every record of it has expired")
    if explanation.conflict:
        lines.append(f"conflict: {explanation.conflict} (the previous merged entity is kept)")
    lines.append("records (merge order):")
    lines.extend(f"  {_record_line(record)}" for record in explanation.records)
    lines.append("fields:")
    width = max((len(name) for name, _source in explanation.fields), default=0)
    lines.extend(f"  {name.ljust(width)}  {source}" for name, source in explanation.fields)
    return lines


def _record_line(record: RecordLine) -> str:
    expiry = "never" if record.expires_at is None else record.expires_at.isoformat()
    if record.expired:
        expiry += " (expired)"
    updated = "-" if record.updated_at is None else record.updated_at.isoformat()
    return (
        f"{record.source}  priority {record.priority}  merge {record.merge}  "
        f"expires {expiry}  updated {updated}"
    )
