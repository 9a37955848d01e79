"""Workloads of service components: 1-3 endpoints, most with a small API definition."""

from typing import Any

from catalog_ingest.simulator.draws import Draws

ENDPOINT_TYPES = (
    ("REST", 0.35),
    ("gRPC", 0.18),
    ("HTTP", 0.15),
    ("GraphQL", 0.12),
    ("Websocket", 0.08),
    ("TCP", 0.07),
    ("UDP", 0.05),
)
PORTS = {
    "REST": (8080, 8000, 9090, 3000),
    "HTTP": (8080, 80, 8000),
    "GraphQL": (4000, 8080),
    "gRPC": (50051, 9000),
    "Websocket": (8081, 3001),
    "TCP": (5432, 6379, 9092),
    "UDP": (5353, 514),
}
SCHEMA_SHARE = 0.85
"""Share of REST/HTTP/GraphQL/gRPC/Websocket endpoints that carry a schema (TCP/UDP never)."""


def _openapi(name: str, revision: int) -> str:
    return (
        "openapi: 3.0.3\n"
        f"info:\n  title: {name}\n  version: 1.{revision}.0\n"
        "paths:\n"
        f"  /{name}:\n    get:\n      summary: List {name}\n"
        "      responses:\n        '200':\n          description: OK\n"
    )


def _graphql(name: str, revision: int) -> str:
    type_name = "".join(part.capitalize() for part in name.split("-"))
    return (
        f"# revision {revision}\n"
        f"type {type_name} {{\n  id: ID!\n  name: String!\n}}\n\n"
        f"type Query {{\n  items: [{type_name}!]!\n}}\n"
    )


def _proto(name: str, revision: int) -> str:
    service = "".join(part.capitalize() for part in name.split("-"))
    return (
        'syntax = "proto3";\n'
        f"// revision {revision}\n"
        f"package {name.replace('-', '_')}.v1;\n\n"
        f"service {service} {{\n  rpc Get (GetRequest) returns (GetReply);\n}}\n"
        "message GetRequest { string id = 1; }\n"
        "message GetReply { string name = 1; }\n"
    )


def _asyncapi(name: str, revision: int) -> str:
    return (
        "asyncapi: 2.6.0\n"
        f"info:\n  title: {name}\n  version: 1.{revision}.0\n"
        f"channels:\n  {name}/events:\n    subscribe:\n      message:\n"
        "        payload:\n          type: object\n"
    )


SCHEMA_WRITERS = {
    "REST": ("REST", _openapi),
    "HTTP": ("REST", _openapi),
    "GraphQL": ("GraphQL", _graphql),
    "gRPC": ("gRPC", _proto),
    "Websocket": ("AsyncAPI", _asyncapi),
}


def _endpoint(draws: Draws, endpoint_type: str, name: str, revision: int) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"type": endpoint_type, "port": draws.pick(PORTS[endpoint_type])}
    writer = SCHEMA_WRITERS.get(endpoint_type)
    if writer is not None and draws.unit() < SCHEMA_SHARE:
        schema_type, write = writer
        endpoint["schema"] = {"type": schema_type, "content": write(name, revision)}
    return endpoint


def service_workload(seed: int, path: str, name: str, revision: int) -> dict[str, Any]:
    """A WorkloadResponse of type Service; endpoint names are unique within the workload."""
    draws = Draws(seed, "workload", path)
    endpoints: dict[str, dict[str, Any]] = {}
    for _ in range(1 + draws.below(3)):
        endpoint_type = draws.weighted(ENDPOINT_TYPES)
        endpoint_name = f"{endpoint_type.lower()}-api"
        if endpoint_name in endpoints:
            endpoint_name = f"{endpoint_name}-{len(endpoints) + 1}"
        endpoints[endpoint_name] = _endpoint(draws, endpoint_type, name, revision)
    return {"name": name, "type": "Service", "endpoints": endpoints}
