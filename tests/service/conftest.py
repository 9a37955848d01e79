"""Fixtures of the HTTP service tests: a configured service on a real uvicorn server, on
PostgreSQL and on SQLite, with actions applied directly (no broker)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.service.context import ServiceContext, build_context
from tests.support.databases import scratch_postgres_database
from tests.support.http_service import API_SECTION, running_service

PROVIDER = "synth"
SYNTH = {
    "name": PROVIDER,
    "type": "synthetic",
    "options": {"burst_length": 60, "burst_interval": 5, "rest_length": 60},
    "settings": {"entities": 300, "page_size": 100, "seed": 5},
}
"""Three pages: one tick completes a pass."""


def write_service_config(path: Path, database_url: str, **extra: Any) -> Path:
    document = {
        "database_url": database_url,
        "providers": [SYNTH],
        "api": {**API_SECTION, "actions": "direct"},
        **extra,
    }
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(params=["postgresql", "sqlite"])
def service_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    with scratch_postgres_database("ingest_service") as url:
        yield url


@pytest.fixture
def service(tmp_path: Path, service_database_url: str) -> Iterator[ServiceContext]:
    config = load_config(write_service_config(tmp_path / "ingest.yaml", service_database_url))
    context = build_context(config)
    yield context
    context.close()


@pytest.fixture
def base_url(service: ServiceContext) -> Iterator[str]:
    with running_service(service) as url:
        yield url
