"""docker-compose.yml is coherent (no Docker engine here, so its structure is checked)."""

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).parent.parent / "docker-compose.yml"


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_the_deployment_has_every_service_of_the_design() -> None:
    assert {"postgres", "redis", "migrate", "worker", "beat", "flower", "simulator"} <= set(
        _services()
    )


def test_every_dependency_names_a_service_and_waits_on_a_real_condition() -> None:
    services = _services()
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


def test_workers_consume_every_queue_and_flower_never_runs_without_auth() -> None:
    services = _services()
    assert "--queues=ingest,admin" in services["worker"]["command"]
    assert services["details"]["command"][:3] == [
        "--queues=details",
        "--pool=threads",
        "--concurrency=20",
    ]
    for scalable in ("worker", "details"):
        assert "ports" not in services[scalable]  # scalable with --scale NAME=N
    assert services["flower"]["command"][0] == "flower"  # `ingest flower` refuses without auth
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith(
        "${FLOWER_BASIC_AUTH:?"
    )
    assert all(
        "FLOWER_BASIC_AUTH" not in services[name]["environment"] for name in ("worker", "beat")
    )
