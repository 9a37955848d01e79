"""``ingest forget``: drop the records of a source no configured provider owns any more."""

from typing import Annotated

import typer

from catalog_ingest.contracts.locking import LockLostError, ProviderBusyError
from catalog_ingest.coordination.embedded_claim import embedded_claim
from catalog_ingest.engine import admin_operations
from cli.common import ConfigOption, DatabaseOption, app, runtime_for
from cli.provider_lease import provider_lease

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
    catalog; each of their entries goes to another source's record or is dropped.

    With ``--yes`` it holds the source's provider lock, as `ingest tick` does (refused while a
    worker still runs a burst under that name, or while an `ingest run --embedded` runs on the
    database)."""
    runtime = runtime_for(config, database_url, read_only=True)
    configured = list(runtime.engine.providers)
    try:
        records = admin_operations.forgettable_records(runtime.repository, source, configured)
        if not yes:
            typer.echo(f"would remove {records} records of source {source}; run again with --yes")
            raise typer.Exit(2)
        try:
            with (
                embedded_claim(runtime.database, shared=True),
                provider_lease(runtime, source) as lease,
            ):
                now = runtime.engine.clock.now()
                result = admin_operations.forget_source(
                    runtime.repository, source, configured, now, lease=lease
                )
        except (ProviderBusyError, LockLostError):
            # exit 1, as `ingest tick` on a busy provider: nothing is wrong, try again later
            raise ProviderBusyError(
                f"source {source} is busy: a worker holds its provider lock (a burst under that "
                "name still runs); nothing was removed, try again after it"
            ) from None
    finally:
        runtime.close()
    typer.echo(f"{result.provider}: {result.message}")
