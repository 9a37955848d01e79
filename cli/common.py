"""What every command shares: the Typer app, common options, config and runtime loading."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from catalog_ingest.app.composition import Runtime, build_runtime
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.app.logging_setup import configure_logging
from catalog_ingest.contracts.errors import UserError
from catalog_ingest.engine.redaction import Redactor
from models.database import sqlite_file

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


known_secrets: list[str] = []
"""The loaded configuration's secrets: ``cli.main.main`` hides them from every error line."""


def load(path: Path | None, database_url: str | None = None) -> AppConfig:
    """The configuration, with the command line's database override (validated like the
    file's, and beating ``DATABASE_URL``; an empty one is an error, not the default);
    logging configured."""
    overrides = None if database_url is None else {"database_url": database_url}
    config = load_config(path, overrides=overrides)
    known_secrets.extend(config.secrets())
    configure_logging(config.log_level, Redactor(config.secrets()), config.log_format)
    return config


def runtime_for(
    path: Path | None, database_url: str | None = None, *, read_only: bool = False
) -> Runtime:
    """The runtime; ``read_only`` commands refuse a SQLite file that does not exist rather
    than create it (and its directory) to show an empty result."""
    config = load(path, database_url)
    if read_only:
        require_existing_database(config.database_url)
    return build_runtime(config)


def require_existing_database(url: str) -> None:
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise UserError(
            f"no database at {path}: nothing to show (check --database-url / DATABASE_URL, "
            "or create it with `ingest migrate`)"
        )


def say(line: str) -> None:
    """A progress or status line on stderr (stdout stays for data)."""
    err.print(line, highlight=False, markup=False)
