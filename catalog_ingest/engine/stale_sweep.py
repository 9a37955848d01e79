"""The sweep after a complete pass, with Backstage's two guards against mass deletion.

Removed = entities the provider owns in the catalog that the current pass never marked. Using
catalog ownership rather than "the previous ingestion's marks" means removals refused by a guard
are carried forward (the next allowed pass still finds them), orphans from canceled passes are
caught, and the choice of "previous ingestion" can never be wrong.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from catalog_ingest.contracts.storage import Ingestion, IngestionRepository, RemovalPlan
from catalog_ingest.engine.options import ProviderOptions

REMOVAL_BATCH = 5000
REFUSAL_PREFIX = "removal refused"
"""How a refusal starts; the completed pass records it in ``last_error`` (``ingest status``
shows it, ``GET /metrics`` counts it)."""


def is_refusal(note: str | None) -> bool:
    """Whether a completed pass's ``last_error`` records a refused sweep."""
    return note is not None and note.startswith(REFUSAL_PREFIX)


@dataclass(frozen=True, slots=True)
class SweepResult:
    removed: int
    plan: RemovalPlan
    refusal: str | None = None


def refusal_reason(plan: RemovalPlan, options: ProviderOptions) -> str | None:
    """Why the guards refuse this sweep, or ``None`` when it may proceed."""
    if plan.removed == 0:
        return None
    if options.reject_empty_source_collections and plan.marked == 0:
        return (
            f"{REFUSAL_PREFIX}: the pass saw no entities and rejectEmptySourceCollections is on; "
            f"{plan.removed} entities kept"
        )
    threshold = options.reject_removals_above_percentage
    if threshold is None:
        return None
    share = 100.0 * plan.removed / plan.previous if plan.previous else 100.0
    if share > threshold:
        return (
            f"{REFUSAL_PREFIX}: {plan.removed} of {plan.previous} previously ingested entities "
            f"({share:.1f}%) would be removed, above rejectRemovalsAbovePercentage={threshold:g}; "
            f"they are kept and will be removed by the next pass allowed to sweep"
        )
    return None


def sweep(
    repository: IngestionRepository,
    ingestion: Ingestion,
    fence: int,
    options: ProviderOptions,
    now: datetime,
    batch: int = REMOVAL_BATCH,
    before_write: Callable[[], None] = lambda: None,
) -> SweepResult:
    """Remove what the pass did not see, unless a guard refuses; batch by batch, fenced.

    ``before_write`` runs before each removal batch; it raises to stop the sweep (a lost lock).
    """
    plan = repository.plan_removals(ingestion)
    refusal = refusal_reason(plan, options)
    if refusal is not None:
        return SweepResult(removed=0, plan=plan, refusal=refusal)
    removed = 0
    after: str | None = None
    while plan.removed:
        before_write()
        count, after = repository.remove_unmarked(ingestion, fence, after, batch, now)
        removed += count
        if after is None or removed >= plan.removed:
            break
    return SweepResult(removed=removed, plan=plan)
