"""The ``ingest`` command line: set-up, the demo, status, export and operator actions."""

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from rich.console import Console
from rich.live import Live
from sqlalchemy.exc import OperationalError

from catalog_ingest.app.composition import Runtime
from catalog_ingest.app.config.loading import check_config_report
from catalog_ingest.app.config.problems import ConfigError
from catalog_ingest.app.demo import DemoApi, DemoSummary, Progress, demo_setup, run_demo
from catalog_ingest.app.export import ExportFormat, write_entities
from catalog_ingest.app.live_status import LiveSnapshot, add_live_figures
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.app.status_view import live_table, render_status, status_rows
from catalog_ingest.contracts.errors import UserError
from catalog_ingest.contracts.locking import ProviderBusyError
from catalog_ingest.contracts.provider import CursorDescriber
from catalog_ingest.coordination.embedded_claim import embedded_claim
from catalog_ingest.engine.redaction import Redactor, url_passwords
from cli.common import (
    ConfigOption,
    DatabaseOption,
    ProviderArgument,
    app,
    err,
    known_secrets,
    load,
    require_existing_database,
    runtime_for,
)
from cli.provider_lease import provider_lease
from migrations.runner import upgrade
from models.catalog_reads import iter_entities
from models.database import create_database_engine
from workers.demo_passes import celery_pass_runner
from workers.embedded import embedded


@app.command()
def migrate(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Apply the database migrations (every process also does this at start)."""
    settings = load(config, database_url)
    engine = create_database_engine(settings.database_url)
    try:
        head = upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"database at revision {head}")


@app.command("check-config")
def check_config_command(file: Annotated[Path, typer.Argument(help="File to check.")]) -> None:
    """Validate a configuration file: exit 0 when valid (with a ``warning:`` line per setting
    accepted but ignored or capped), 2 with one line per problem."""
    report = check_config_report(file)
    if report.problems:
        for problem in report.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{file}: valid")


MAX_DEMO_COMPONENTS = 2_000_000


@app.command()
def demo(
    database_url: Annotated[
        str, typer.Option("--database-url", help="Where the demo writes its catalog.")
    ] = "sqlite:///ingest-demo.db",
    orgs: Annotated[
        int,
        typer.Option(
            "--orgs", "--namespaces", min=1, max=10_000, help="Namespaces (organizations)."
        ),
    ] = 10,
    projects: Annotated[int, typer.Option(min=1, max=1_000, help="Projects per namespace.")] = 10,
    components: Annotated[
        int, typer.Option(min=0, max=10_000, help="Components per project.")
    ] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the generated dataset.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    api: Annotated[
        DemoApi,
        typer.Option(help="API generation: namespaces (today's OpenChoreo) or orgs."),
    ] = "namespaces",
) -> None:
    """Embedded demo: two passes over a simulated OpenChoreo installation, with upstream
    changes in between.

    Runs the real tasks on an in-process Celery worker and broker, and the OpenChoreo simulator
    on a loopback port (one process, no servers to install).
    """
    configure_logging("WARNING")
    if orgs * projects * components > MAX_DEMO_COMPONENTS:
        raise UserError(
            f"the demo takes at most {MAX_DEMO_COMPONENTS:,} components "
            f"(orgs x projects x components = {orgs * projects * components:,})"
        )
    try:
        setup = demo_setup(database_url, orgs, projects, components, seed, api)
    except ValueError as error:  # a dataset the simulator cannot name
        raise UserError(str(error)) from None
    progress: Progress = lambda line: err.print(line, highlight=False)  # noqa: E731
    try:
        with embedded(setup.runtime) as scheduler:
            summary = run_demo(setup, celery_pass_runner(scheduler, progress), progress, seed)
    finally:
        setup.close()
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
        return
    _print_demo_summary(summary, database_url)


def _print_demo_summary(summary: DemoSummary, database_url: str) -> None:
    for item in summary.passes:
        typer.echo(
            f"pass {item.pass_number}: {item.pages} pages, {item.entities} entities "
            f"({item.written} written, {item.entities - item.written} unchanged), "
            f"{item.removed} removed, {item.bursts} bursts, {item.seconds:.1f}s"
        )
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(summary.entities_by_kind.items()))
    typer.echo(f"catalog: {sum(summary.entities_by_kind.values())} entities ({kinds})")
    typer.echo(
        f"took {summary.duration_seconds:.1f}s; see it with: "
        f"ingest export --database-url {database_url}"
    )


@app.command()
def export(
    provider: Annotated[str | None, typer.Option(help="Only this provider's entities.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.YAML,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Stream the catalog to stdout: YAML documents (a catalog location) or JSON lines."""
    settings = load(config, database_url)
    if provider is not None:
        settings.provider(provider)  # an unknown name is one line, exit 2
    require_existing_database(settings.database_url)
    engine = create_database_engine(settings.database_url)
    try:
        count = write_entities(iter_entities(engine, provider), sys.stdout, fmt)
    finally:
        engine.dispose()
    err.print(f"exported {count} entities", highlight=False)


WatchOption = Annotated[
    bool, typer.Option("--watch", help="Refresh a compact table in place until Ctrl-C.")
]
IntervalOption = Annotated[
    float, typer.Option("--interval", min=0.1, max=3600, help="Seconds between refreshes.")
]
IterationsOption = Annotated[int | None, typer.Option("--iterations", min=1, hidden=True)]
"""Stop after this many refreshes (tests)."""


@app.command()
def status(
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    watch: WatchOption = False,
    interval: IntervalOption = 2.0,
    iterations: IterationsOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Show each provider's current pass and its last completed one, and the records of
    sources no configured provider owns (see `ingest forget`). With --watch: phase, progress,
    rate over the last minute, ETA and next action, refreshed until Ctrl-C (--json: one JSON
    document per refresh)."""
    runtime = runtime_for(config, database_url, read_only=True)
    try:
        rows = _status_rows(runtime, provider)
        if provider is not None and not rows and provider not in runtime.engine.providers:
            runtime.engine.binding(provider)  # neither configured nor stored: one line, exit 2
        if watch:
            _watch(lambda: _live_rows(runtime, provider), as_json, interval, iterations)
            return
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        console = Console()
        render_status(rows, console if console.is_terminal else Console(width=180))


def _status_rows(runtime: Runtime, provider: str | None) -> list[dict[str, Any]]:
    describers = {
        name: binding.provider
        for name, binding in runtime.engine.providers.items()
        if isinstance(binding.provider, CursorDescriber)
    }
    configured = list(runtime.engine.providers)
    return status_rows(runtime.repository, runtime.redactor, provider, describers, configured)


def _live_rows(runtime: Runtime, provider: str | None) -> LiveSnapshot:
    now = runtime.engine.clock.now()
    rows = add_live_figures(_status_rows(runtime, provider), runtime.repository, now)
    return LiveSnapshot(now, rows)


def _watch(
    snapshot: Callable[[], LiveSnapshot], as_json: bool, interval: float, iterations: int | None
) -> None:
    """Refresh until Ctrl-C (exit 0, quietly) or ``iterations``: in place on a terminal, one
    table per refresh elsewhere (a pipe, a log), one JSON line per refresh with ``--json``."""
    console = Console()
    try:
        if as_json:
            line = lambda: typer.echo(json.dumps(snapshot().as_dict(), default=str))  # noqa: E731
            _each_refresh(line, interval, iterations)
        elif console.is_terminal:
            with Live(console=console, auto_refresh=False) as live:
                show = lambda: live.update(live_table(snapshot().rows), refresh=True)  # noqa: E731
                _each_refresh(show, interval, iterations)
        else:
            plain = Console(width=180)
            _each_refresh(lambda: plain.print(live_table(snapshot().rows)), interval, iterations)
    except KeyboardInterrupt:
        pass


def _each_refresh(refresh: Callable[[], None], interval: float, iterations: int | None) -> None:
    done = 0
    while True:
        refresh()
        sys.stdout.flush()
        done += 1
        if iterations is not None and done >= iterations:
            return
        time.sleep(interval)


@app.command()
def tick(
    provider: ProviderArgument, config: ConfigOption = None, database_url: DatabaseOption = None
) -> None:
    """Run the provider's next due action in this process, under the provider's lock (refused
    while a worker's burst holds it, or while an `ingest run --embedded` runs on the database),
    and print what it did."""
    runtime = runtime_for(config, database_url)
    try:
        with (
            embedded_claim(runtime.database, shared=True),
            provider_lease(runtime, provider) as lease,
        ):
            outcome = runtime.engine.tick(provider, lease=lease)
    finally:
        runtime.close()
    typer.echo(f"{provider}: {outcome.action}" + (f" ({outcome.note})" if outcome.note else ""))


# Operator and process commands register themselves on the app, listed after the ones above.
from cli import (  # noqa: E402, F401
    admin_commands,
    event_command,
    explain_command,
    forget_command,
    process_commands,
    push_command,
    serve_command,
    simulator_command,
    sources_command,
)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user mistakes become one clear line and exit code 2; an unreachable
    service one line and exit 1. Every line goes through :func:`_redactor` (no secret shown)."""
    try:
        return app(args=argv, standalone_mode=True)
    except ConfigError as error:
        _fail([f"config: {problem}" for problem in error.problems], 2, argv)
    except UserError as error:
        _fail([f"error: {error}"], 2, argv)
    except KombuOperationalError as error:
        _fail([f"error: cannot reach the broker: {error}"], 1, argv)
    except RedisError as error:
        _fail([f"error: cannot reach Redis: {error}"], 1, argv)
    except ProviderBusyError as error:
        _fail([f"error: {error}"], 1, argv)
    except OperationalError as error:
        message = str(error.orig) if error.orig else str(error)
        _fail([f"error: cannot reach the database: {message.strip()}"], 1, argv)


def _fail(lines: list[str], code: int, argv: list[str] | None) -> NoReturn:
    redactor = _redactor(argv)
    for line in lines:
        one_line = " ".join(redactor.redact(line).split())
        err.print(one_line, highlight=False, markup=False)
    raise SystemExit(code)


def _redactor(argv: list[str] | None) -> Redactor:
    """Credential shapes, the loaded configuration's secrets, and URL passwords given on the
    command line (a URL the configuration refused is not loaded, its password still known)."""
    arguments = sys.argv[1:] if argv is None else argv
    from_arguments = [secret for argument in arguments for secret in url_passwords(argument)]
    return Redactor([*known_secrets, *from_arguments, *_environment_url_passwords()])


def _environment_url_passwords() -> list[str]:
    return [
        secret
        for variable in ("DATABASE_URL", "REDIS_URL")
        for secret in url_passwords(os.environ.get(variable))
    ]
