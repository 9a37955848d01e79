"""One burst: pages from the last mark's cursor until done, out of time, or asked to stop."""

from collections.abc import Callable
from dataclasses import dataclass

import orjson
import structlog

from catalog_ingest.binding import ProviderBinding
from catalog_ingest.clock import Clock
from catalog_ingest.entities import prepare_page
from catalog_ingest.lock import Lease, LockLostError
from catalog_ingest.provider import BurstInfo, JSONValue, Page
from catalog_ingest.repository import Ingestion, IngestionRepository, PageWrite

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
            prepared, rejections = prepare_page(page.entities, binding.name)
            for rejection in rejections:
                log.warning("entity rejected", provider=binding.name, reason=rejection.reason)
            cursor = _stored_cursor(page)
            _ensure_lease(lease)
            result = repository.commit_page(
                ingestion,
                fence,
                PageWrite(prepared, cursor, page.done, len(rejections), binding.priority),
                clock.now(),
            )
            progress.pages += 1
            progress.entities += len(prepared)
            progress.written += result.written
            progress.rejected += len(rejections)
            log.debug(
                "page committed",
                provider=binding.name,
                sequence=result.sequence,
                entities=len(prepared),
                written=result.written,
            )
            if page.done:
                progress.done = True
                return progress
            if clock.monotonic() >= deadline or should_stop():
                return progress
