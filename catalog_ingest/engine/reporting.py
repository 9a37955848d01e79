"""What a committed page reports: rejected entities and clashes (refs emitted twice); what a
completed pass notes."""

from collections.abc import Mapping
from typing import Any

from catalog_ingest.contracts.provider import OriginDescriber
from catalog_ingest.contracts.storage import Ingestion, PageResult
from catalog_ingest.engine import event_log
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.entity_preparation import PreparedPage

log = event_log.get_logger(__name__)

Clash = tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]
"""A ref emitted twice in one pass: the ref, the body kept (if known) and the body dropped."""


def log_rejections(binding: ProviderBinding, prepared: PreparedPage) -> None:
    for rejection in prepared.rejections:
        log.warning("entity rejected", provider=binding.name, reason=rejection.reason)


def clashes_of(prepared: PreparedPage, result: PageResult) -> list[Clash]:
    """Repeats within the page, then refs an earlier page of the pass had already emitted."""
    clashes: list[Clash] = [
        (kept.ref, kept.body, dropped.body) for kept, dropped in prepared.duplicates
    ]
    for entity in prepared.entities:
        if entity.ref in result.duplicates:
            kept = result.duplicates[entity.ref]
            clashes.append((entity.ref, kept if isinstance(kept, Mapping) else None, entity.body))
    return clashes


def report_clashes(binding: ProviderBinding, prepared: PreparedPage, result: PageResult) -> int:
    """Log each clash with both upstream origins (the first writer of a ref keeps it)."""
    provider = binding.provider
    describe = provider.origin_of if isinstance(provider, OriginDescriber) else None
    clashes = clashes_of(prepared, result)
    for ref, kept, dropped in clashes:
        log.warning(
            "entity clash: ref emitted twice in one pass, the first is kept",
            provider=binding.name,
            ref=ref,
            kept=describe(kept) if describe and kept is not None else None,
            dropped=describe(dropped) if describe else None,
        )
    return len(clashes)


def pass_note(refusal: str | None, ingestion: Ingestion | None) -> str | None:
    """What a completed pass records in ``last_error``: a sweep refusal, and the fallbacks
    (components whose detail calls failed keep their previous APIs rather than lose them)."""
    fallbacks = ingestion.fallbacks if ingestion is not None else 0
    kept = (
        f"{fallbacks} component(s) kept their previous APIs: detail calls failed"
        if fallbacks
        else None
    )
    return "; ".join(part for part in (refusal, kept) if part) or None
