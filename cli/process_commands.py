"""Long-running processes: a worker with embedded beat, the embedded mode, Flower."""

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.contracts.errors import UserError
from cli.common import ConfigOption, DatabaseOption, app, load, say
from cli.serve_command import (
    DEFAULT_PORT,
    HostOption,
    InsecureLocalOption,
    PortOption,
    check_exposure,
)
from workers.celery_app import create_app
from workers.queues import ALL_QUEUES

FLOWER_AUTH_ENV = "FLOWER_BASIC_AUTH"


def _export_config_path(config: Path | None) -> None:
    """Processes started from here (pool children, Flower) load the same configuration file."""
    if config is not None:
        os.environ["INGEST_CONFIG"] = str(config.resolve())


def _run_embedded(settings: AppConfig, serve_at: tuple[str, int] | None) -> None:
    """Everything in one process; a second embedded run on the same database refuses at start
    (one line naming it, exit 2) instead of fencing this one's bursts out in turn. With
    ``serve_at`` the HTTP service runs too, sending its tasks to the in-process broker."""
    from catalog_ingest.app.composition import build_runtime  # noqa: PLC0415
    from catalog_ingest.coordination.embedded_claim import embedded_claim  # noqa: PLC0415
    from catalog_ingest.coordination.local_lock import InProcessProviderLock  # noqa: PLC0415
    from catalog_ingest.service.context import ServiceContext  # noqa: PLC0415
    from cli.serve_command import serve_in_thread  # noqa: PLC0415
    from workers.embedded import embedded  # noqa: PLC0415
    from workers.task_sender import TaskSender  # noqa: PLC0415

    runtime = build_runtime(settings, lock=InProcessProviderLock())
    try:
        with embedded_claim(runtime.database):
            say(f"embedded mode: {len(runtime.engine.providers)} provider(s); Ctrl-C stops")
            try:
                with embedded(runtime, loglevel=settings.log_level) as scheduler:
                    if serve_at is not None:
                        context = ServiceContext(
                            settings,
                            runtime,
                            TaskSender(settings, app=scheduler.app),
                            insecure_local=not settings.api.active_tokens(),
                        )
                        serve_in_thread(context, *serve_at)
                        say(f"serving on http://{serve_at[0]}:{serve_at[1]}")
                    scheduler.run(on_result=lambda r: say(f"{r['provider']}: {r['action']}"))
            except KeyboardInterrupt:
                say("stopped")
    finally:
        runtime.close()


@app.command()
def run(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 2,
    embedded_mode: Annotated[
        bool,
        typer.Option(
            "--embedded",
            help="One process, no Redis: in-memory broker and lock (SQLite or PostgreSQL).",
        ),
    ] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="With --embedded: also run the HTTP service.")
    ] = False,
    host: HostOption = "127.0.0.1",
    port: PortOption = DEFAULT_PORT,
    insecure_local: InsecureLocalOption = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run a worker with embedded beat (small deployments), or everything in one process."""
    settings = load(config, database_url)
    _export_config_path(config)
    if serve and not embedded_mode:
        raise UserError("--serve needs --embedded; a worker deployment runs `ingest serve`")
    if serve:
        check_exposure(settings, host, insecure_local)
    if embedded_mode:
        _run_embedded(settings, (host, port) if serve else None)
        return
    if database_url:
        os.environ["DATABASE_URL"] = database_url  # forked pool processes load config again
    # Beat's state file, one per deployment (broker and config): two `ingest run` of one user
    # on one host must not share their last-run times.
    deployment = f"{settings.redis_url}|{os.environ.get('INGEST_CONFIG', '')}"
    digest = hashlib.sha256(deployment.encode()).hexdigest()[:12]
    schedule = Path(tempfile.gettempdir()) / f"catalog-ingest-beat-{os.getuid()}-{digest}"
    create_app(settings).worker_main(
        [
            "worker",
            "--beat",
            f"--schedule={schedule}",
            f"--queues={','.join(ALL_QUEUES)}",
            f"--concurrency={concurrency}",
            f"--loglevel={settings.log_level}",
        ]
    )


@app.command()
def flower(
    port: Annotated[int, typer.Option(min=1, max=65535)] = 5555,
    address: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    config: ConfigOption = None,
) -> None:
    """Start Flower with basic auth from FLOWER_BASIC_AUTH (user:password); refuses without it.

    Flower's task API can enqueue any task: left open it is remote code execution.
    """
    auth = os.environ.get(FLOWER_AUTH_ENV, "")
    if ":" not in auth or auth.startswith(":") or auth.endswith(":"):
        say(f"error: set {FLOWER_AUTH_ENV}=user:password; Flower never runs without auth")
        raise typer.Exit(2)
    load(config)
    _export_config_path(config)
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "celery",
            "--app=workers",
            "flower",
            f"--port={port}",
            f"--address={address}",
            f"--basic-auth={auth}",
        ],
    )
