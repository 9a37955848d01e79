"""One burst: pages from the last mark's cursor until done, out of time, or asked to stop."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from catalog_ingest.binding import ProviderBinding
from catalog_ingest.clock import Clock
from catalog_ingest.entities import PreparedPage, prepare_page
from catalog_ingest.lock import Lease, LockLostError
from catalog_ingest.provider import BurstInfo, JSONValue, OriginDescriber, Page
from catalog_ingest.repository import Ingestion, IngestionRepository, PageResult, PageWrite

log = structlog.get_logger(__name__)

StopCheck = Callable[[], bool]


class ProviderContractError(TypeError):
    """A provider returned something the contract does not allow."""


@dataclass(slots=True)
class BurstProgress:
    """Running totals of one burst."""

    pages: int = 0
    entities: int = 0
    written: int = 0
    rejected: int = 0
    duplicates: int = 0
    done: bool = False


def _check_page(page: object, provider_name: str) -> Page:
    if not isinstance(page, Page):
        raise ProviderContractError(
            f"provider {provider_name}: next() must return a Page, got {type(page).__name__}"
        )
    if not page.done:
        try:
            orjson.dumps(page.cursor)
        except TypeError as error:
            raise ProviderContractError(
                f"provider {provider_name}: cursor is not JSON-serialisable ({error})"
            ) from error
    return page


def _stored_cursor(page: Page) -> JSONValue:
    """The cursor exactly as it will come back from the database (a JSON round trip)."""
    return orjson.loads(orjson.dumps(page.cursor)) if not page.done else None


def _ensure_lease(lease: Lease | None) -> None:
    if lease is not None and not lease.held():
        raise LockLostError(f"lock on provider {lease.provider} was lost; burst stops unwritten")


Clash = tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]
"""A ref emitted twice in one pass: the ref, the body kept (if known) and the body dropped."""


def _clashes(prepared: PreparedPage, result: PageResult) -> list[Clash]:
    clashes: list[Clash] = [
        (kept.ref, kept.body, dropped.body) for kept, dropped in prepared.duplicates
    ]
    for entity in prepared.entities:
        if entity.ref in result.duplicates:
            kept = result.duplicates[entity.ref]
            clashes.append((entity.ref, kept if isinstance(kept, Mapping) else None, entity.body))
    return clashes


def _report_clashes(binding: ProviderBinding, clashes: list[Clash]) -> None:
    """Log each clash with both upstream origins (the first writer of a ref keeps it)."""
    provider = binding.provider
    describe = provider.origin_of if isinstance(provider, OriginDescriber) else None
    for ref, kept, dropped in clashes:
        log.warning(
            "entity clash: ref emitted twice in one pass, the first is kept",
            provider=binding.name,
            ref=ref,
            kept=describe(kept) if describe and kept is not None else None,
            dropped=describe(dropped) if describe else None,
        )


def run_burst(
    repository: IngestionRepository,
    binding: ProviderBinding,
    ingestion: Ingestion,
    fence: int,
    clock: Clock,
    should_stop: StopCheck,
    lease: Lease | None = None,
    progress: BurstProgress | None = None,
) -> BurstProgress:
    """Fetch and commit pages; each page is one transaction. Raises on provider or store errors.

    Before each commit the lease (when there is one) must still be held: a burst that lost its
    lock writes nothing more, even before anyone else takes the fence.
    """
    progress = progress or BurstProgress()
    mark = repository.last_mark(ingestion.id)
    cursor = mark.cursor if mark else None
    deadline = clock.monotonic() + binding.options.burst_length
    info = BurstInfo(provider_name=binding.name, ingestion_id=ingestion.id, fence=fence)
    with binding.provider.around(info) as context:
        while True:
            page = _check_page(binding.provider.next(context, cursor), binding.name)
            prepared = prepare_page(page.entities, binding.name)
            for rejection in prepared.rejections:
                log.warning("entity rejected", provider=binding.name, reason=rejection.reason)
            cursor = _stored_cursor(page)
            _ensure_lease(lease)
            result = repository.commit_page(
                ingestion,
                fence,
                PageWrite(
                    prepared.entities,
                    cursor,
                    page.done,
                    len(prepared.rejections),
                    binding.priority,
                    len(prepared.duplicates),
                ),
                clock.now(),
            )
            clashes = _clashes(prepared, result)
            _report_clashes(binding, clashes)
            progress.pages += 1
            progress.entities += len(prepared.entities) - len(result.duplicates)
            progress.written += result.written
            progress.rejected += len(prepared.rejections)
            progress.duplicates += len(clashes)
            log.debug(
                "page committed",
                provider=binding.name,
                sequence=result.sequence,
                entities=len(prepared.entities),
                written=result.written,
            )
            if page.done:
                progress.done = True
                return progress
            if clock.monotonic() >= deadline or should_stop():
                return progress
