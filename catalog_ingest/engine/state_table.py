"""The engine: one entry point, :meth:`Engine.tick`, performs the provider's next due action.

State table (``next_action`` of the provider's open ingestion, when ``next_action_at`` passed):

- ``ingest``: run a burst. Not done: interstitial, next tick after ``burst_interval``. Done:
  sweep, then rest for ``rest_length``. Error: back off ``backoff[attempts]``.
- ``backoff``: back to ``ingest`` (resumes from the last mark).
- ``rest``: close the ingestion, clear older finished ones (keep the newest), open a new one.
- ``cancel``: close as canceled and open a new one.
- ``pause``: nothing, until an operator triggers the provider.

Each step first takes the ingestion's fence; every write of the step is conditional on it.
"""

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from catalog_ingest.contracts.errors import UnknownProviderError
from catalog_ingest.contracts.locking import Lease, LockLostError, ensure_held
from catalog_ingest.contracts.provider import DeferringProvider
from catalog_ingest.contracts.request_slots import SlotsFactory
from catalog_ingest.contracts.states import NextAction, Phase
from catalog_ingest.contracts.storage import (
    FencedError,
    Ingestion,
    IngestionRepository,
    StopRequestedError,
)
from catalog_ingest.engine import event_log
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.burst import BurstProgress, BurstScope, StopCheck, run_burst
from catalog_ingest.engine.clock import Clock, SystemClock
from catalog_ingest.engine.deferred_items import Dispatcher, settle
from catalog_ingest.engine.event_deltas import EventOutcome, apply_event
from catalog_ingest.engine.outcome import TickAction, TickOutcome
from catalog_ingest.engine.redaction import Redactor
from catalog_ingest.engine.reporting import pass_note
from catalog_ingest.engine.stale_sweep import sweep

log = event_log.get_logger(__name__)

LISTING_DONE = (Phase.AWAITING_DETAILS, Phase.SWEEPING)
"""Phases after the last listing page: a burst only settles pending pages and sweeps."""


def _never_stop() -> bool:
    return False


TIME_LIMIT = "time limit"
"""Outcome of a burst ended by its task's time limit (Celery's ``SoftTimeLimitExceeded``)."""
ERROR = "error"
"""Outcome of a burst ended by an error its own handling let through."""
_TIME_LIMIT_ERRORS = ("SoftTimeLimitExceeded", "TimeLimitExceeded")
"""By name: the engine does not import Celery (or billiard, where these are defined)."""


def escaped_outcome(error: BaseException) -> str:
    """The history outcome of a burst that ended with ``error`` escaping it."""
    if isinstance(error, FencedError | LockLostError):
        return TickAction.FENCED
    if isinstance(error, StopRequestedError):
        return TickAction.STOPPED
    if any(kind.__name__ in _TIME_LIMIT_ERRORS for kind in type(error).__mro__):
        return TIME_LIMIT
    return ERROR


@dataclass(frozen=True, slots=True)
class Stop:
    """When a burst must end early: on request, or as soon as its lease is gone."""

    should_stop: StopCheck
    lease: Lease | None

    def requested(self) -> bool:
        return self.should_stop() or (self.lease is not None and not self.lease.held())


class Engine:
    """Drives providers through the state table; safe to run from any process."""

    def __init__(
        self,
        repository: IngestionRepository,
        providers: Mapping[str, ProviderBinding],
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        worker_id: str | None = None,
        dispatcher: Dispatcher | None = None,
        local_slots: SlotsFactory | None = None,
    ) -> None:
        self.repository = repository
        self.providers = dict(providers)
        self.clock: Clock = clock or SystemClock()
        self.redactor = redactor or Redactor()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.dispatcher = dispatcher
        """Where deferred items go (child tasks); ``None``: bursts resolve them inline."""
        self.local_slots = local_slots
        """Bounds the detail calls of inline resolution (in-process request slots)."""

    def binding(self, provider_name: str) -> ProviderBinding:
        try:
            return self.providers[provider_name]
        except KeyError:
            raise UnknownProviderError(provider_name, sorted(self.providers)) from None

    def tick(
        self,
        provider_name: str,
        *,
        lease: Lease | None = None,
        should_stop: StopCheck = _never_stop,
    ) -> TickOutcome:
        """Perform the provider's next action if it is due; return what was done.

        Callers that run concurrently (Celery workers) hold the provider lock and pass its
        ``lease``; the step then takes a new fence, which shuts out every earlier holder.
        """
        binding = self.binding(provider_name)
        if binding.passive:
            note = "written by pushes only: it has no passes"
            return TickOutcome(action=TickAction.PAUSED, provider=provider_name, note=note)
        now = self.clock.now()
        ingestion = self.repository.get_open(provider_name)
        if ingestion is None:
            ingestion = self.repository.open_ingestion(provider_name, now)
        if ingestion.next_action is NextAction.PAUSE:
            return self._outcome(TickAction.PAUSED, ingestion)
        if ingestion.next_action_at > now:
            return self._outcome(TickAction.NOT_DUE, ingestion)
        try:
            fence = self.repository.take_fence(ingestion.id)
            return self._step(binding, ingestion, fence, Stop(should_stop, lease))
        except FencedError as error:
            log.warning("step fenced out", provider=provider_name, reason=str(error))
            return self._outcome(TickAction.FENCED, ingestion, note=str(error))
        except StopRequestedError as error:
            return self._outcome(TickAction.STOPPED, ingestion, note=str(error))

    def apply_event(
        self,
        provider_name: str,
        topic: str,
        payload: Mapping[str, Any],
        *,
        lease: Lease | None = None,
    ) -> EventOutcome:
        """Deliver an upstream event to the provider and apply its delta.

        Like :meth:`tick`, callers that run concurrently hold the provider lock and pass its
        ``lease``: the event then runs between two steps, never inside a burst, and writes
        under a fresh fence (see :mod:`catalog_ingest.engine.event_deltas`).
        """
        binding = self.binding(provider_name)
        return apply_event(self.repository, binding, topic, payload, self.clock, lease)

    def _step(
        self, binding: ProviderBinding, ingestion: Ingestion, fence: int, stop: "Stop"
    ) -> TickOutcome:
        action = ingestion.next_action
        if action is NextAction.INGEST:
            return self._burst(binding, ingestion, fence, stop)
        if action is NextAction.BACKOFF:
            self.repository.resume_after_backoff(ingestion.id, fence, self.clock.now())
            return self._reload(TickAction.RESUMED, ingestion)
        if action in (NextAction.REST, NextAction.CANCEL):
            return self._close_and_reopen(ingestion, fence, canceled=action is NextAction.CANCEL)
        raise RuntimeError(f"open ingestion {ingestion.id} has terminal next action {action}")

    def _close_and_reopen(self, ingestion: Ingestion, fence: int, *, canceled: bool) -> TickOutcome:
        now = self.clock.now()
        self.repository.close(ingestion.id, fence, now, canceled=canceled)
        if not canceled:  # a canceled record stays visible until the next completed rest
            self.repository.clear_finished(ingestion.provider_name)
        opened = self.repository.open_ingestion(ingestion.provider_name, now)
        log.info(
            "pass canceled" if canceled else "rest completed",
            provider=ingestion.provider_name,
            ingestion=opened.id,
        )
        action = TickAction.CANCELED if canceled else TickAction.REST_COMPLETED
        return self._outcome(action, opened)

    def _burst(
        self, binding: ProviderBinding, ingestion: Ingestion, fence: int, stop: "Stop"
    ) -> TickOutcome:
        progress = BurstProgress(done=ingestion.phase in LISTING_DONE)
        burst_id = self.repository.start_burst(
            ingestion.id, fence, self.clock.now(), self.worker_id
        )
        try:
            outcome = self._run_burst(binding, ingestion, fence, stop, progress)
        except BaseException as error:
            # Escaped the burst's own handling (e.g. the soft time limit fired inside it, or a
            # refusal while backing off): the history row still ends, then the error goes on.
            self._end_burst(burst_id, escaped_outcome(error), progress)
            raise
        self._end_burst(burst_id, outcome.action, progress)
        return outcome

    def _end_burst(self, burst_id: int, outcome: str, progress: BurstProgress) -> None:
        """Close the burst's history row. A failed write is logged, never raised: it must not
        mask the burst's own error (the next burst of the provider closes the row as
        abandoned)."""
        try:
            self.repository.finish_burst(
                burst_id, self.clock.now(), outcome, progress.pages, progress.entities
            )
        except Exception as error:
            log.error(
                "burst history not ended",
                burst=burst_id,
                outcome=outcome,
                error=self.redactor.describe_error(error),
            )

    def _run_burst(
        self,
        binding: ProviderBinding,
        ingestion: Ingestion,
        fence: int,
        stop: "Stop",
        progress: BurstProgress,
    ) -> TickOutcome:
        repository, options = self.repository, binding.options
        scope = BurstScope(
            repository, binding, ingestion, fence, self.clock, self.dispatcher, self.local_slots
        )
        held = partial(ensure_held, stop.lease)
        try:
            if not progress.done:
                run_burst(scope, stop.requested, stop.lease, progress)
            waiting = 0
            if isinstance(binding.provider, DeferringProvider):
                held()
                waiting = settle(
                    repository,
                    binding,
                    ingestion,
                    fence,
                    self.dispatcher,
                    self.local_slots,
                    self.clock,
                )
            held()
            if not progress.done or waiting:
                now = self.clock.now()
                phase = Phase.AWAITING_DETAILS if progress.done else None
                # Throttled by pages waiting for details: due again at once, so the burst a
                # finalizing child enqueues can go on listing.
                next_at = now if progress.throttled else now + options.burst_interval_delta
                repository.set_interstitial(ingestion.id, fence, now, next_at, phase)
                note = f"{waiting} page(s) wait for their details" if waiting else None
                return self._burst_outcome(TickAction.BURST, ingestion, progress, note=note)
            result = sweep(
                repository, ingestion, fence, options, self.clock.now(), before_write=held
            )
            held()
            now = self.clock.now()
            note = pass_note(result.refusal, repository.get(ingestion.id))
            repository.set_resting(ingestion.id, fence, now, now + options.rest_length_delta, note)
        except (FencedError, StopRequestedError, LockLostError) as error:
            return self._stopped(ingestion, progress, error)
        except Exception as error:
            return self._back_off(binding, ingestion, fence, progress, error)
        if result.refusal:
            log.warning("sweep refused", provider=binding.name, reason=result.refusal)
        log.info("pass completed", provider=binding.name, removed=result.removed)
        return self._burst_outcome(
            TickAction.PASS_COMPLETED,
            ingestion,
            progress,
            removed=result.removed,
            note=note,
        )

    def _stopped(
        self, ingestion: Ingestion, progress: BurstProgress, error: Exception
    ) -> TickOutcome:
        fenced = isinstance(error, FencedError | LockLostError)
        log.warning(
            "burst fenced out" if fenced else "burst stopped on request",
            provider=ingestion.provider_name,
            reason=str(error),
        )
        action = TickAction.FENCED if fenced else TickAction.STOPPED
        return self._burst_outcome(action, ingestion, progress, note=str(error))

    def _back_off(
        self,
        binding: ProviderBinding,
        ingestion: Ingestion,
        fence: int,
        progress: BurstProgress,
        error: Exception,
    ) -> TickOutcome:
        message = self.redactor.describe_error(error)
        now = self.clock.now()
        current = self.repository.get(ingestion.id)
        attempts = (current.attempts if current else ingestion.attempts) + 1
        next_at = now + binding.options.backoff_delay(attempts)
        log.error(
            "burst failed",
            provider=binding.name,
            error=message,
            attempts=attempts,
            retry_at=next_at.isoformat(),
        )
        try:
            self.repository.set_backoff(ingestion.id, fence, now, next_at, message)
        except (FencedError, StopRequestedError) as refused:
            return self._stopped(ingestion, progress, refused)
        return self._burst_outcome(TickAction.BACKED_OFF, ingestion, progress, note=message)

    def _burst_outcome(
        self,
        action: TickAction,
        ingestion: Ingestion,
        progress: BurstProgress,
        *,
        removed: int = 0,
        note: str | None = None,
    ) -> TickOutcome:
        current = self.repository.get(ingestion.id)
        return TickOutcome(
            action=action,
            provider=ingestion.provider_name,
            ingestion_id=ingestion.id,
            next_action_at=current.next_action_at if current else None,
            pages=progress.pages,
            entities=progress.entities,
            written=progress.written,
            rejected=progress.rejected,
            duplicates=progress.duplicates,
            fallbacks=progress.fallbacks,
            deferred=progress.deferred,
            removed=removed,
            note=note,
        )

    def _reload(self, action: TickAction, ingestion: Ingestion) -> TickOutcome:
        return self._outcome(action, self.repository.get(ingestion.id) or ingestion)

    @staticmethod
    def _outcome(action: TickAction, ingestion: Ingestion, note: str | None = None) -> TickOutcome:
        return TickOutcome(
            action=action,
            provider=ingestion.provider_name,
            ingestion_id=ingestion.id,
            next_action_at=ingestion.next_action_at,
            note=note,
        )

    def next_due(self, provider_name: str) -> datetime | None:
        """When the provider's next action is due: now for a provider never run, ``None`` when
        paused (only an operator's trigger or start resumes it) or passive (no passes)."""
        if self.binding(provider_name).passive:
            return None
        ingestion = self.repository.get_open(provider_name)
        if ingestion is None:
            return self.clock.now()
        if ingestion.next_action is NextAction.PAUSE:
            return None
        return ingestion.next_action_at
