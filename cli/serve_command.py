"""``ingest serve``: the HTTP service (management routes, event ingress, metrics)."""

import ipaddress
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.contracts.errors import UserError
from cli.common import ConfigOption, DatabaseOption, app, load, say

if TYPE_CHECKING:  # the service (FastAPI, uvicorn) loads only for the commands that serve
    import uvicorn

    from catalog_ingest.service.context import ServiceContext

HostOption = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")]
InsecureLocalOption = Annotated[
    bool,
    typer.Option(
        "--insecure-local",
        help="Serve with no token configured (every route open): loopback addresses only.",
    ),
]
DEFAULT_PORT = 7007
"""Backstage's backend port, so scripts written for it need only the host changed."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(config: AppConfig, host: str, insecure_local: bool) -> None:
    """Refuse to serve without authentication, except on loopback when asked explicitly."""
    if insecure_local and config.api.active_tokens():
        raise UserError("--insecure-local is for a service without tokens; api.tokens is set")
    if insecure_local and not is_loopback(host):
        raise UserError(f"--insecure-local serves loopback addresses only, not {host}")
    if not config.api.active_tokens() and not insecure_local:
        raise UserError(
            "no API token configured (api.tokens is empty or its ${VAR}s are unset): the service "
            "refuses to run unauthenticated (add a token, or --insecure-local on 127.0.0.1)"
        )


def server_for(context: "ServiceContext", host: str, port: int) -> "uvicorn.Server":
    """A uvicorn server of the service; logging stays the project's (structlog, redacted)."""
    import uvicorn  # noqa: PLC0415

    from catalog_ingest.service.app import create_app  # noqa: PLC0415

    settings = uvicorn.Config(
        create_app(context), host=host, port=port, log_config=None, access_log=True
    )
    return uvicorn.Server(settings)


def serve_in_thread(context: "ServiceContext", host: str, port: int) -> "uvicorn.Server":
    """Start the service beside something else (``ingest run --embedded --serve``)."""
    server = server_for(context, host, port)
    thread = threading.Thread(target=server.run, name="http-service", daemon=True)
    thread.start()
    return server


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = DEFAULT_PORT,
    insecure_local: InsecureLocalOption = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the HTTP API: Backstage's management routes, event ingress, metrics."""
    from catalog_ingest.service.context import build_context  # noqa: PLC0415

    settings = load(config, database_url)
    check_exposure(settings, host, insecure_local)
    context = build_context(settings, insecure_local=insecure_local)
    try:
        mode = "applied directly" if context.sender is None else "enqueued for the workers"
        say(f"serving on http://{host}:{port} (actions {mode}); Ctrl-C stops")
        server_for(context, host, port).run()
    finally:
        context.close()
