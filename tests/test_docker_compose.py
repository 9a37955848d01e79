"""docker-compose.yml is coherent (no Docker engine here, so its structure is checked)."""

import re
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).parent.parent / "docker-compose.yml"


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_the_deployment_has_every_service_of_the_design() -> None:
    assert {
        "postgres", "redis", "migrate", "worker", "beat", "flower", "simulator", "api"
    } <= set(_services())  # fmt: skip


def test_the_api_serves_on_loopback_with_a_health_check_on_its_health_route() -> None:
    api = _services()["api"]
    assert api["command"][0] == "serve"
    assert "--host=0.0.0.0" in api["command"]  # inside the container; published on loopback
    assert api["ports"] == ["127.0.0.1:7007:7007"]
    assert "/api/catalog/incremental/health" in " ".join(api["healthcheck"]["test"])
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


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


CONFIG_EXAMPLE = COMPOSE.parent / "ingest.example.yaml"
CONFIG_MOUNT = "/config/ingest.yaml"


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def _config_variables() -> set[str]:
    """Every ``${NAME}`` / ``${NAME:-default}`` the example configuration's values read."""
    values = _strings(yaml.safe_load(CONFIG_EXAMPLE.read_text()))
    return {n for v in values for n in re.findall(r"(?<!\$)\$\{([A-Za-z_]\w*)", v)}


def _reads_config(service: dict[str, Any]) -> bool:
    return any(CONFIG_MOUNT in volume for volume in service.get("volumes", []))


def test_every_variable_of_the_example_config_reaches_every_service_that_mounts_the_config() -> (
    None
):
    variables = _config_variables()
    assert {"OPENCHOREO_TOKEN", "OPENCHOREO_URL", "DATABASE_URL"} <= variables
    readers = {name: s for name, s in _services().items() if _reads_config(s)}
    assert {"migrate", "worker", "details", "beat", "flower"} <= set(readers)
    for name, service in readers.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), name
        missing = variables - set(environment)
        assert not missing, f"{name} does not pass {sorted(missing)} to the configuration"
        assert environment["OPENCHOREO_TOKEN"] == "${OPENCHOREO_TOKEN:-}", name
        env_files = [entry["path"] for entry in service.get("env_file", [])]
        assert env_files == ["./ingest.env"], f"{name}: the optional env file for own variables"


def test_flower_is_published_on_the_loopback_interface_only() -> None:
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
