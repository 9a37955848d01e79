"""``ingest push``: write entities into a push source, or delete them, at once."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from catalog_ingest.app.push import (
    MAX_PUSH_BYTES,
    delete_pushed,
    push_entities,
    push_source,
    push_summary,
)
from catalog_ingest.contracts.errors import UserError
from catalog_ingest.providers.sources.documents import (
    EntityDocumentError,
    is_json,
    parse_documents,
)
from cli.common import ConfigOption, DatabaseOption, app, runtime_for
from workers.limits import BurstLimits
from workers.worker_settings import WorkerSettings

STDIN = "-"

SourceArgument = Annotated[str, typer.Argument(help="A source of type push, as configured.")]
TargetsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="FILE|-|REF...",
        help="Entity documents (YAML, multi-document, or JSON) to upsert, from a file or - "
        "(stdin); with --delete, the refs to remove.",
        show_default=False,
    ),
]
DeleteOption = Annotated[
    bool, typer.Option("--delete", help="Remove the given refs from the source's records.")
]


@app.command()
def push(
    source: SourceArgument,
    targets: TargetsArgument = None,
    delete: DeleteOption = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Write entities into a push source (upsert: its other records stay), or delete refs from
    it, under the source's lock; prints what changed as JSON."""
    targets = targets or []
    if not targets:
        raise UserError("ingest push: give a FILE (or - for stdin), or --delete and refs")
    if not delete and len(targets) != 1:
        raise UserError(f"ingest push: one FILE (or -) to upsert, got {len(targets)} arguments")
    runtime = runtime_for(config, database_url)
    try:
        push_source(runtime.engine, source)
        options = runtime.engine.binding(source).options
        ttl = BurstLimits.for_options(options, WorkerSettings().time_limit_margin).lock_ttl
        if delete:
            outcome = delete_pushed(
                runtime.engine, runtime.lock, source, targets, ttl=ttl, wait=ttl
            )
        else:
            entities = read_entities(targets[0])
            outcome = push_entities(
                runtime.engine, runtime.lock, source, entities, ttl=ttl, wait=ttl
            )
    finally:
        runtime.close()
    typer.echo(json.dumps(push_summary(outcome)))


def read_entities(target: str) -> list[Any]:
    """The entity documents of a file or stdin, bounded like an entity file."""
    try:
        if target == STDIN:
            data = _read_bounded(sys.stdin.buffer, "stdin")
        else:
            with Path(target).open("rb") as file:
                data = _read_bounded(file, target)
        return parse_documents(data, target, json=is_json(target))
    except OSError as error:
        raise UserError(f"{target}: cannot be read: {error.strerror}") from None
    except EntityDocumentError as error:
        raise UserError(str(error)) from None


def _read_bounded(stream: BinaryIO, name: str) -> bytes:
    data = stream.read(MAX_PUSH_BYTES + 1)
    if len(data) > MAX_PUSH_BYTES:
        raise UserError(f"{name}: larger than {MAX_PUSH_BYTES // 1024 // 1024} MiB; split it")
    return data
