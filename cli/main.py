"""The ``ingest`` command line: set-up, the demo, status, export and operator actions."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from rich.console import Console
from sqlalchemy.exc import OperationalError

from catalog_ingest.app.config.loading import check_config_report
from catalog_ingest.app.config.problems import ConfigError
from catalog_ingest.app.demo import DemoApi, DemoSummary, Progress, demo_setup, run_demo
from catalog_ingest.app.export import ExportFormat, write_entities
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.app.status_view import render_status, status_rows
from catalog_ingest.contracts.errors import UserError
from catalog_ingest.contracts.locking import ProviderBusyError
from catalog_ingest.contracts.provider import CursorDescriber
from catalog_ingest.engine.redaction import Redactor
from cli.common import (
    ConfigOption,
    DatabaseOption,
    ProviderArgument,
    app,
    err,
    load,
    runtime_for,
)
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
    engine = create_database_engine(settings.database_url)
    try:
        count = write_entities(iter_entities(engine, provider), sys.stdout, fmt)
    finally:
        engine.dispose()
    err.print(f"exported {count} entities", highlight=False)


@app.command()
def status(
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Show each provider's current pass and its last completed one."""
    runtime = runtime_for(config, database_url)
    describers = {
        name: binding.provider
        for name, binding in runtime.engine.providers.items()
        if isinstance(binding.provider, CursorDescriber)
    }
    try:
        rows = status_rows(runtime.repository, runtime.redactor, provider, describers)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        console = Console()
        render_status(rows, console if console.is_terminal else Console(width=180))


@app.command()
def tick(
    provider: ProviderArgument, config: ConfigOption = None, database_url: DatabaseOption = None
) -> None:
    """Run the provider's next due action in this process and print what it did."""
    runtime = runtime_for(config, database_url)
    try:
        outcome = runtime.engine.tick(provider)
    finally:
        runtime.close()
    typer.echo(f"{provider}: {outcome.action}" + (f" ({outcome.note})" if outcome.note else ""))


# Operator and process commands register themselves on the app, listed after the ones above.
from cli import admin_commands, event_command, process_commands, simulator_command  # noqa: E402, F401


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user mistakes become one clear line and exit code 2."""
    try:
        return app(args=argv, standalone_mode=True)
    except ConfigError as error:
        for problem in error.problems:
            err.print(f"config: {problem}", highlight=False, markup=False)
        raise SystemExit(2) from None
    except UserError as error:
        err.print(f"error: {error}", highlight=False, markup=False)
        raise SystemExit(2) from None
    except KombuOperationalError as error:
        err.print(f"error: cannot reach the broker: {error}", highlight=False, markup=False)
        raise SystemExit(1) from None
    except RedisError as error:
        err.print(f"error: cannot reach Redis: {error}", highlight=False, markup=False)
        raise SystemExit(1) from None
    except ProviderBusyError as error:
        err.print(f"error: {error}", highlight=False, markup=False)
        raise SystemExit(1) from None
    except OperationalError as error:
        message = Redactor().redact(str(error.orig) if error.orig else str(error)).strip()
        err.print(f"error: cannot reach the database: {message}", highlight=False, markup=False)
        raise SystemExit(1) from None
