"""Benchmark: the Backstage-compatible read API at N entities, over real HTTP, on PostgreSQL.

    .venv/bin/python bench/read_api.py [--entities 100000] [--requests 200]
                                       [--database-url URL] [--results FILE]

1. load: one pass of N synthetic entities (90% Component, 8% API, 2% System; ~1.5 KB each)
   through the real engine into a scratch database, then the projection applied from the
   change feed (``models.search_projection.catch_up``, as ``ingest.project`` does), timed
   alone; then ``VACUUM ANALYZE`` (what autovacuum does after a bulk load; the bench does not
   wait for it).
2. requests: the service (FastAPI on uvicorn, a thread of this process, token auth on) answers
   each scenario ``--requests`` times from one keep-alive client, after 10 warm-up requests;
   median and p95 per request (client-side wall time, JSON decoded).
3. ceilings measured in the same run: ``GET .../health`` (the HTTP floor: auth, routing, one
   database round trip), and through psycopg directly 20 entity bodies read in key order from
   one index range (``source_entities`` by primary key, ``LIMIT 20``): the least any page of
   20 entities must read.

Figures to stdout and, as JSON, to ``bench/results/read_api-<N>.json``.
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.engine import scratch_database
from catalog_ingest.app.config.loading import load_config
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.service.app import create_app
from catalog_ingest.service.context import ServiceContext, build_context
from models.search_projection import catch_up

PROVIDER = "bench"
TOKEN = "bench-read-token-0123456789abcdef"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
WARMUP = 10
BACKSTAGE = {"list by kind (paginated)": 12.5, "facets": 1000.0}
"""Backstage's published figures (ms) at about 474k entities, for comparison."""


def write_config(path: Path, database_url: str, entities: int) -> Path:
    document = {
        "database_url": database_url,
        "providers": [
            {
                "name": PROVIDER,
                "type": "synthetic",
                "options": {"burst_length": 300, "burst_interval": 5, "rest_length": 1440},
                "settings": {"entities": entities, "page_size": 500, "seed": 1},
            }
        ],
        "api": {
            "tokens": [{"name": "bench", "token": TOKEN, "scopes": ["read"]}],
            "actions": "direct",
        },
    }
    path.write_text(yaml.safe_dump(document))
    return path


@contextmanager
def serving(context: ServiceContext) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(context), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def load(context: ServiceContext) -> dict[str, float]:
    started = time.monotonic()
    outcome = context.runtime.engine.tick(PROVIDER)  # burst_length 300 s: one tick, one pass
    if outcome.action is not TickAction.PASS_COMPLETED:
        raise RuntimeError(f"the pass did not complete in one tick: {outcome}")
    ingested = time.monotonic() - started
    print(f"  pass: {ingested:.1f} s", file=sys.stderr, flush=True)
    started = time.monotonic()
    applied = catch_up(context.runtime.database, budget_seconds=3600)
    projected = time.monotonic() - started
    print(f"  projection: {applied} changes in {projected:.1f} s", file=sys.stderr, flush=True)
    with context.runtime.database.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        rows = connection.execute(text("SELECT count(*) FROM catalog_search")).scalar_one()
    return {
        "pass_seconds": round(ingested, 1),
        "projection_seconds": round(projected, 1),
        "projection_changes_per_second": round(applied / projected),
        "search_rows": int(rows),
    }


def timed(call: Callable[[], Any], requests: int) -> dict[str, float]:
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
    }


def deep_cursor(client: httpx.Client, depth: int) -> str:
    """A cursor about ``depth`` entities into the Component listing (walked 1,000 at a time)."""
    params: dict[str, Any] = {"filter": "kind=component", "limit": 1000, "fields": "kind"}
    walked = 0
    while True:
        answer = client.get("/api/catalog/entities/by-query", params=params).json()
        walked += len(answer["items"])
        cursor: str | None = answer["pageInfo"].get("nextCursor")
        if cursor is None:
            raise SystemExit(
                f"error: the Component listing has {walked} entities, too few for pages 1,000 "
                f"long and a cursor {depth} deep: use a larger --entities (5,000 or more)"
            )
        if walked >= depth:
            return cursor
        params = {"cursor": cursor, "limit": 1000, "fields": "kind"}


def scenarios(client: httpx.Client, entities: int) -> dict[str, Callable[[], Any]]:
    def get(path: str, **params: Any) -> Callable[[], Any]:
        def call() -> Any:
            answer = client.get(path, params=params)
            answer.raise_for_status()
            return answer.json()

        return call

    query = "/api/catalog/entities/by-query"
    cursor = deep_cursor(client, int(entities * 0.9 * 0.8))
    return {
        "list by kind, first page (with totalItems)": get(query, filter="kind=component"),
        "list by kind, first page (totalItems=exclude)": get(
            query, filter="kind=component", totalItems="exclude"
        ),
        "list by kind, deep page (cursor at 80%)": get(query, cursor=cursor),
        "two-key filter, first page (with totalItems)": get(
            query, filter="kind=component,spec.type=service"
        ),
        "ordered by metadata.name, first page": get(
            query, filter="kind=api", orderField="metadata.name,asc"
        ),
        "facets kind + spec.type": get("/api/catalog/entity-facets", facet=["kind", "spec.type"]),
        "HTTP floor: GET /health": get("/api/catalog/incremental/health"),
    }


def page_ceiling(database_url: str, requests: int) -> dict[str, float]:
    url = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    statement = (
        "SELECT ref, body FROM source_entities WHERE source = %s AND ref > %s "
        "ORDER BY source, ref LIMIT 20"
    )
    with psycopg.connect(url) as connection:

        def call() -> Any:
            return connection.execute(
                statement, (PROVIDER, "component:default/component-1-0050000")
            ).fetchall()

        return timed(call, requests)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch_database(args.database_url) as url:
        with tempfile.TemporaryDirectory() as workdir:
            config = load_config(write_config(Path(workdir) / "bench.yaml", url, args.entities))
        context = build_context(config)
        try:
            figures: dict[str, Any] = {"entities": args.entities, "load": load(context)}
            with serving(context) as base_url:
                headers = {"Authorization": f"Bearer {TOKEN}"}
                with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
                    measured = {
                        name: timed(call, args.requests)
                        for name, call in scenarios(client, args.entities).items()
                    }
            measured["psycopg ceiling: 20 bodies from one index range"] = page_ceiling(
                url, args.requests
            )
            figures["requests"] = measured
            figures["backstage_published_ms_at_474k"] = BACKSTAGE
            return figures
        finally:
            context.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--results", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    figures = run(args)
    for name, value in figures["load"].items():
        print(f"{name}: {value}")
    for name, value in figures["requests"].items():
        print(f"{name}: median {value['median_ms']} ms, p95 {value['p95_ms']} ms")
    path: Path = args.results or RESULTS_DIR / f"read_api-{args.entities}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
