"""Component-detail calls made inside the burst, a bounded number at a time.

Services need one more call each (``GET .../components/{name}?include=workload``) for their
workload endpoints and repository. Calls run ``max_concurrent_requests`` at a time, and a group
waits ``batch_delay_ms`` before the next one starts: the reference plugin's pacing.
A call that keeps failing leaves the component without its detail (it is emitted from its
listing data, without APIs), logged with the reason; a component that vanished is dropped.
"""

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from catalog_ingest.openchoreo.client import OpenChoreoClient
from catalog_ingest.openchoreo.errors import NotFoundError, UpstreamError
from catalog_ingest.openchoreo.models import Component

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Fallback:
    """The detail could not be fetched; the component is built from its listing."""

    reason: str


GONE = "gone"
"""The component was deleted between its listing and its detail call."""

DetailResult = Component | Fallback | str


class InlineDetails:
    """Fetches details for one burst; close it with the burst."""

    def __init__(
        self,
        client: OpenChoreoClient,
        concurrency: int,
        batch_delay: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._concurrency = concurrency
        self._batch_delay = batch_delay
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="openchoreo-detail")
        self.fallbacks = 0

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def fetch(self, org: str, project: str, names: Sequence[str]) -> dict[str, DetailResult]:
        results: dict[str, DetailResult] = {}
        for start in range(0, len(names), self._concurrency):
            if start and self._batch_delay:
                self._sleep(self._batch_delay)
            group = names[start : start + self._concurrency]
            for name, result in zip(
                group, self._pool.map(lambda n: self._one(org, project, n), group), strict=True
            ):
                results[name] = result
        return results

    def _one(self, org: str, project: str, name: str) -> DetailResult:
        try:
            return self._client.component(org, project, name)
        except NotFoundError:
            log.info(
                "component vanished before its detail call", component=f"{org}/{project}/{name}"
            )
            return GONE
        except UpstreamError as error:
            self.fallbacks += 1
            log.warning(
                "component detail failed; emitted from its listing without APIs",
                component=f"{org}/{project}/{name}",
                reason=str(error),
            )
            return Fallback(str(error))
