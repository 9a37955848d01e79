"""An action the service cannot hand to the workers is a 503 in the envelope, within seconds."""

import time
from pathlib import Path

import httpx

from catalog_ingest.app.config.loading import load_config
from catalog_ingest.service.context import build_context
from tests.service.conftest import write_service_config
from tests.support.http_service import MANAGE_TOKEN, bearer, envelope_of, running_service


def test_an_unreachable_broker_is_a_503_not_a_500(tmp_path: Path) -> None:
    path = write_service_config(tmp_path / "ingest.yaml", f"sqlite:///{tmp_path / 'db.sqlite'}")
    config = load_config(path, overrides={"redis_url": "redis://127.0.0.1:1/0"})
    config = config.model_copy(update={"api": config.api.model_copy(update={"actions": "enqueue"})})
    context = build_context(config)
    try:
        with running_service(context) as base_url:
            started = time.monotonic()
            response = httpx.post(
                f"{base_url}/api/catalog/incremental/providers/synth/trigger",
                headers=bearer(MANAGE_TOKEN),
                timeout=60,
            )
            assert time.monotonic() - started < 20
    finally:
        context.close()
    assert response.status_code == 503
    body = envelope_of(response)
    assert body["error"]["name"] == "ServiceUnavailableError"
    assert "broker cannot be reached" in body["error"]["message"]
