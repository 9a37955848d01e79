"""``ingest forget``: drop the records of a source no configured provider owns any more."""

from typing import Annotated

import typer

from catalog_ingest.engine import admin_operations
from cli.common import ConfigOption, DatabaseOption, app, runtime_for

SourceArgument = Annotated[str, typer.Argument(help="Source name (a former provider's name).")]
YesOption = Annotated[bool, typer.Option("--yes", help="Remove them (without: only say what).")]


@app.command()
def forget(
    source: SourceArgument,
    yes: YesOption = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Remove a renamed or removed provider's records (and ingestion records) from the
    catalog; each of their entries goes to another source's record or is dropped."""
    runtime = runtime_for(config, database_url, read_only=True)
    configured = list(runtime.engine.providers)
    try:
        if not yes:
            records = admin_operations.forgettable_records(runtime.repository, source, configured)
            typer.echo(f"would remove {records} records of source {source}; run again with --yes")
            raise typer.Exit(2)
        now = runtime.engine.clock.now()
        result = admin_operations.forget_source(runtime.repository, source, configured, now)
    finally:
        runtime.close()
    typer.echo(f"{result.provider}: {result.message}")
