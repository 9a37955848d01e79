"""Read-ahead: fetch the next page on a helper thread while the current one commits.

A burst alternates two kinds of waiting: on the upstream (and on the Python work of turning a
page into entities) and on the database. Done one after the other, each page costs the sum;
with one page read ahead it costs about the larger of the two. The helper thread runs the
provider's ``next`` one call at a time, so a provider never sees concurrent calls, only calls
from another thread than the one that opened its context.

At most one page is fetched in vain per burst: the one read ahead when the burst then ends on
its deadline or on a stop request. It is discarded unused; its cursor was never stored.
"""

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, Self, TypeVar

from catalog_ingest.contracts.provider import JSONValue
from catalog_ingest.engine import event_log

log = event_log.get_logger(__name__)

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """Runs ``fetch(cursor)`` when the page is needed (:meth:`take`) or ahead (:meth:`prefetch`).

    Use as a context manager: leaving it waits for a fetch still running, so the provider's
    context is never torn down under it.
    """

    def __init__(self, fetch: Callable[[JSONValue], T]) -> None:
        self._fetch = fetch
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[T] | None = None
        self._pending_cursor: JSONValue = None

    def prefetch(self, cursor: JSONValue) -> None:
        """Start fetching the page after ``cursor``; :meth:`take` returns it."""
        if self._pending is not None:
            raise RuntimeError("a page is already being read ahead")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        # The copied context carries structlog's bound variables over to the helper thread.
        context = contextvars.copy_context()
        self._pending = self._executor.submit(context.run, self._fetch, cursor)
        self._pending_cursor = cursor

    def take(self, cursor: JSONValue) -> T:
        """The page read ahead if there is one (its error, if it failed), else fetch it now."""
        pending, self._pending = self._pending, None
        if pending is None:
            return self._fetch(cursor)
        if cursor != self._pending_cursor:
            raise RuntimeError("the page read ahead follows another cursor")
        return pending.result()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and not pending.cancel():
            unused = pending.exception()
            if unused is not None:
                log.debug("page read ahead and not used failed", error=repr(unused))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
