"""Upstream events between passes: a provider turns them into a delta the engine applies.

Added entities are upserted and marked into the current ingestion, so the next sweep keeps
them; removed refs leave the catalog at once.
"""

from collections.abc import Mapping
from typing import Any

from catalog_ingest.contracts.provider import Delta, EventHandler
from catalog_ingest.contracts.storage import IngestionRepository
from catalog_ingest.engine import event_log
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import Clock
from catalog_ingest.engine.entity_preparation import prepare_page

log = event_log.get_logger(__name__)


def apply_event(
    repository: IngestionRepository,
    binding: ProviderBinding,
    topic: str,
    payload: Mapping[str, Any],
    clock: Clock,
) -> Delta | None:
    """Deliver an event to the provider and apply its delta; ``None`` when ignored."""
    provider = binding.provider
    if not isinstance(provider, EventHandler) or topic not in provider.supports_event_topics():
        return None
    result = provider.on_event(topic, payload)
    if not isinstance(result, Delta):
        return None
    now = clock.now()
    ingestion = repository.get_open(binding.name) or repository.open_ingestion(binding.name, now)
    page = prepare_page(result.added, binding.name)
    for rejection in page.rejections:
        log.warning("event entity rejected", provider=binding.name, reason=rejection.reason)
    repository.apply_delta(ingestion, page.entities, list(result.removed), binding.priority, now)
    return result
