"""What every command shares: the Typer app, common options, config and runtime loading."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from catalog_ingest.app.composition import Runtime, build_runtime
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.engine.redaction import Redactor

app = typer.Typer(
    help="Incremental ingestion of a software catalog (Backstage entities).",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)
"""One line per message whatever the terminal width: errors and progress stay greppable."""


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="INGEST_CONFIG", help="YAML configuration file."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides the configured database (DATABASE_URL)."),
]
ProviderArgument = Annotated[str, typer.Argument(help="Provider name, as configured.")]


def load(path: Path | None, database_url: str | None = None) -> AppConfig:
    """The configuration, with the command line's database override (validated like the
    file's, and beating ``DATABASE_URL``); logging configured."""
    config = load_config(path, overrides={"database_url": database_url} if database_url else None)
    configure_logging(config.log_level, Redactor(config.secrets()), config.log_format)
    return config


def runtime_for(path: Path | None, database_url: str | None = None) -> Runtime:
    return build_runtime(load(path, database_url))


def say(line: str) -> None:
    """A progress or status line on stderr (stdout stays for data)."""
    err.print(line, highlight=False, markup=False)
