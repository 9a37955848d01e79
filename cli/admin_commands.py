"""Operator actions: enqueued as tasks for the workers (default), or applied directly."""

from typing import Annotated

import typer

from catalog_ingest.contracts.errors import UserError
from catalog_ingest.engine import admin_operations
from cli.common import ConfigOption, DatabaseOption, ProviderArgument, app, load, runtime_for, say
from workers import task_names
from workers.task_sender import TaskSender

DirectOption = Annotated[
    bool,
    typer.Option(
        "--direct",
        help="Apply to the database now instead of enqueuing a task (no worker needed).",
    ),
]


def enqueue(task: str, args: tuple[str, ...], config_path: ConfigOption) -> str:
    """Send an admin task to the workers' broker; returns the task id."""
    return TaskSender(load(config_path)).send(task, args)


def _admin_command(
    name: str,
    task: str,
    action: admin_operations.AdminAction,
    doc: str,
    *,
    refuse_passive: bool = False,
) -> None:
    def command(
        provider: ProviderArgument,
        direct: DirectOption = False,
        config: ConfigOption = None,
        database_url: DatabaseOption = None,
    ) -> None:
        runtime = runtime_for(config, database_url)
        try:
            binding = runtime.engine.binding(provider)
            if refuse_passive and binding.passive:
                raise UserError(
                    f"{provider} is a push source: it has no refreshes (pushes write it)"
                )
            if not direct:
                task_id = enqueue(task, (provider,), config)
                typer.echo(f"{task}[{provider}] enqueued: task id {task_id}")
                return
            result = action(runtime.repository, provider, runtime.engine.clock.now())
        finally:
            runtime.close()
        typer.echo(f"{result.provider}: {result.message}")

    command.__doc__ = doc
    app.command(name)(command)


_admin_command(
    "trigger",
    task_names.TRIGGER,
    admin_operations.trigger,
    "Make the provider's next action due now (unpauses).",
)
_admin_command(
    "refresh",
    task_names.TRIGGER,
    admin_operations.trigger,
    "Refresh a source now (a provider's pass, a file or url source's re-read): its rest "
    "ends; a refresh already running goes on.",
    refuse_passive=True,
)
_admin_command(
    "start",
    task_names.START,
    admin_operations.start,
    "Begin a new pass now (cancels a running one).",
)
_admin_command(
    "cancel",
    task_names.CANCEL,
    admin_operations.cancel,
    "Stop the running pass; the provider stays idle for 24 hours or until triggered.",
)
_admin_command(
    "reset",
    task_names.RESET,
    admin_operations.reset,
    "Forget ingestion state (catalog kept); start fresh.",
)


@app.command("clear-finished")
def clear_finished(
    provider: ProviderArgument, config: ConfigOption = None, database_url: DatabaseOption = None
) -> None:
    """Delete the provider's finished ingestions except the newest completed one."""
    runtime = runtime_for(config, database_url)
    try:
        runtime.engine.binding(provider)  # an unknown name is one line, exit 2
        result = admin_operations.clear_finished(runtime.repository, provider)
    finally:
        runtime.close()
    typer.echo(f"{result.provider}: {result.message}")


@app.command()
def cleanup(
    direct: DirectOption = False, config: ConfigOption = None, database_url: DatabaseOption = None
) -> None:
    """Purge every provider's ingestion state and pause them until triggered."""
    if not direct:
        task_id = enqueue(task_names.CLEANUP, (), config)
        typer.echo(f"{task_names.CLEANUP} enqueued: task id {task_id}")
        return
    runtime = runtime_for(config, database_url)
    try:
        names = list(runtime.engine.providers)
        results = admin_operations.cleanup(runtime.repository, names, runtime.engine.clock.now())
    finally:
        runtime.close()
    for result in results:
        typer.echo(f"{result.provider}: {result.message}")


@app.command()
def marks(
    provider: ProviderArgument, config: ConfigOption = None, database_url: DatabaseOption = None
) -> None:
    """List the committed pages (marks) of the provider's current pass."""
    import json  # noqa: PLC0415 - only this command formats cursors

    runtime = runtime_for(config, database_url, read_only=True)
    try:
        runtime.engine.binding(provider)  # an unknown name is one line, exit 2
        rows = admin_operations.marks(runtime.repository, provider)
    finally:
        runtime.close()
    for mark in rows:
        typer.echo(
            f"{mark.sequence:>6}  {mark.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{mark.entity_count:>6} entities  cursor={json.dumps(mark.cursor)}"
        )
    say(f"{len(rows)} mark(s)")
