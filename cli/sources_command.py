"""``ingest sources``: the configured providers and sources, their schedule and state."""

import json
from typing import Annotated

import typer
from rich.console import Console

from catalog_ingest.app.sources_view import render_sources, source_rows
from cli.common import ConfigOption, DatabaseOption, app, runtime_for
from models.catalog_reads import records_by_source


@app.command()
def sources(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """List every configured provider and source: type, priority, schedule, TTL, last refresh
    (its newest completed pass), records stored and last error."""
    runtime = runtime_for(config, database_url, read_only=True)
    try:
        with runtime.database.connect() as connection:
            records = dict(records_by_source(connection))
        rows = source_rows(runtime.config, runtime.repository, records, runtime.redactor)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console = Console()
    render_sources(rows, console if console.is_terminal else Console(width=200))
