"""``ingest simulator``: serve a simulated OpenChoreo API (deterministic data, faults)."""

import os
import threading
from typing import Annotated

import typer

from catalog_ingest.simulator.app import create_app
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.faults import FaultSettings
from catalog_ingest.simulator.server import serve_in_thread
from catalog_ingest.simulator.spec import DatasetSpec
from catalog_ingest.simulator.state import API_GENERATIONS, ApiGeneration, SimulatorConfig
from cli.common import app, say


def _check_flags(port: int, latency_ms: float, fault_rate: float) -> None:
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be within 0..65535, got {port}")
    if latency_ms < 0:
        raise ValueError(f"--latency-ms must be >= 0, got {latency_ms}")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"--fault-rate must be within [0, 1], got {fault_rate}")


ROUTES = {"namespaces": "/namespaces", "orgs": "/orgs", "both": "/namespaces and /orgs"}


def _generation(api: str) -> ApiGeneration:
    if api not in API_GENERATIONS:
        raise ValueError(f"--api must be one of {', '.join(API_GENERATIONS)}, got {api!r}")
    return api


def _describe(spec: DatasetSpec, url: str, authenticated: bool, api: ApiGeneration) -> str:
    auth = ", bearer token required" if authenticated else ""
    return (
        f"simulator listening on {url}/api/v1 ({ROUTES[api]}): {spec.orgs} orgs, "
        f"{spec.total_projects} projects, {spec.total_components} components "
        f"(seed {spec.seed}{auth}); Ctrl-C stops"
    )


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    api: Annotated[
        str,
        typer.Option(
            help="API generation to serve: namespaces (today's OpenChoreo), orgs, or both."
        ),
    ] = "both",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8080,
    orgs: Annotated[int, typer.Option(help="Organizations.")] = 3,
    projects: Annotated[int, typer.Option(help="Projects per organization.")] = 5,
    components: Annotated[int, typer.Option(help="Components per project.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    latency_ms: Annotated[float, typer.Option(help="Latency added to API requests.")] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Fraction of API requests answered 503.")] = 0.0,
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the bearer token to require.")
    ] = "SIMULATOR_TOKEN",
    shared_names: Annotated[
        bool, typer.Option("--shared-names", help="Repeat names across organizations.")
    ] = False,
    hidden_every: Annotated[
        int | None, typer.Option(help="Hide every n-th item (authorization filter).")
    ] = None,
    token_ttl: Annotated[
        float | None, typer.Option(help="Continue tokens expire after this many seconds.")
    ] = None,
    token_max_uses: Annotated[
        int | None, typer.Option(help="Continue tokens expire after this many uses.")
    ] = None,
) -> None:
    """Serve a simulated OpenChoreo API until Ctrl-C (faults can be changed at /_control)."""
    try:
        _check_flags(port, latency_ms, fault_rate)
        spec = DatasetSpec(orgs, projects, components, seed, shared_names, hidden_every)
        config = SimulatorConfig(
            token=os.environ.get(token_env) or None,
            token_ttl_seconds=token_ttl,
            token_max_uses=token_max_uses,
            faults=FaultSettings(latency_ms=latency_ms, error_rate=fault_rate),
            api=_generation(api),
        )
    except ValueError as error:
        say(f"error: {error}")
        raise typer.Exit(2) from None
    simulator_app = create_app(Dataset(spec), config)
    try:
        with serve_in_thread(simulator_app, host, port) as url:
            typer.echo(_describe(spec, url, config.token is not None, config.api))
            threading.Event().wait()
    except KeyboardInterrupt:
        say("stopped")
    except OSError as error:
        say(f"error: cannot listen on {host}:{port}: {error.strerror or error}")
        raise typer.Exit(1) from None
