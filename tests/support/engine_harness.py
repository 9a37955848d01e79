"""Shared wiring for the engine tests: a scripted synthetic provider, tick loops, catalog reads."""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from catalog_ingest.contracts.provider import Entity, JSONValue, Page, Provider
from catalog_ingest.contracts.storage import Ingestion, IngestionRepository
from catalog_ingest.coordination.local_slots import LocalRequestSlots
from catalog_ingest.engine.binding import ProviderBinding
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.entity_preparation import (
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
    location_of,
)
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.engine.outcome import TickAction, TickOutcome
from catalog_ingest.engine.redaction import Redactor
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.synthetic import SyntheticProvider, SyntheticSource
from models.catalog_reads import merged_body
from models.sql_repository import SqlRepository
from models.tables import catalog_entities, mark_entities, marks, source_entities

PROVIDER = "synth"


class ScriptedProvider(SyntheticProvider):
    """A synthetic provider that records the cursors it is asked for and can be scripted.

    - ``seconds_per_page``: each page advances ``clock`` by that much (to end bursts).
    - ``fail_on_call(n, error)``: the n-th call of :meth:`next` (1-based) raises ``error``.
    - ``before_next``: a hook called with the call number before each page is produced.
    """

    def __init__(
        self,
        source: SyntheticSource,
        *,
        name: str = PROVIDER,
        page_size: int = 100,
        clock: ManualClock | None = None,
        seconds_per_page: float = 0.0,
    ) -> None:
        super().__init__(name, source, page_size)
        self.clock = clock
        self.seconds_per_page = seconds_per_page
        self.cursors: list[JSONValue] = []
        self.failures: dict[int, BaseException] = {}
        self.before_next: Callable[[int], None] | None = None

    @property
    def calls(self) -> int:
        return len(self.cursors)

    def fail_on_call(self, call: int, error: BaseException) -> None:
        self.failures[call] = error

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        self.cursors.append(copy.deepcopy(cursor))
        call = len(self.cursors)
        if self.before_next is not None:
            self.before_next(call)
        error = self.failures.pop(call, None)
        if error is not None:
            raise error
        page = super().next(context, cursor)
        if self.clock is not None and self.seconds_per_page:
            self.clock.advance(self.seconds_per_page)
        return page


def options(**values: Any) -> ProviderOptions:
    """Options for the tests: a long burst (the ManualClock decides when it ends) by default."""
    values.setdefault("burst_length", 300)
    return ProviderOptions.model_validate(values)


def build_engine(
    repository: IngestionRepository,
    clock: ManualClock,
    provider: Provider,
    provider_options: ProviderOptions | None = None,
    *,
    redactor: Redactor | None = None,
    priority: int = 0,
) -> Engine:
    binding = ProviderBinding(provider, provider_options or options(), priority)
    return Engine(
        repository,
        {provider.name: binding},
        clock,
        redactor=redactor,
        local_slots=LocalRequestSlots,
    )


def tick_when_due(engine: Engine, clock: ManualClock, provider: str = PROVIDER) -> TickOutcome:
    """Move the clock to the provider's next due time (if any) and tick once."""
    due = engine.next_due(provider)
    if due is not None:
        clock.advance_to(due)
    return engine.tick(provider)


def run_until(
    engine: Engine,
    clock: ManualClock,
    action: TickAction,
    provider: str = PROVIDER,
    *,
    limit: int = 500,
    allow_backoff: bool = False,
) -> list[TickOutcome]:
    """Tick (each when due) until a tick performs ``action``; return every outcome."""
    outcomes: list[TickOutcome] = []
    for _ in range(limit):
        outcome = tick_when_due(engine, clock, provider)
        outcomes.append(outcome)
        if outcome.action is action:
            return outcomes
        if outcome.action is TickAction.BACKED_OFF and not allow_backoff:
            raise AssertionError(f"unexpected backoff while waiting for {action}: {outcome.note}")
    raise AssertionError(f"no {action} within {limit} ticks; last: {outcomes[-1]}")


def complete_pass(
    engine: Engine, clock: ManualClock, provider: str = PROVIDER, **kwargs: Any
) -> TickOutcome:
    """Tick until the current (or next) pass completes; return the completing outcome."""
    return run_until(engine, clock, TickAction.PASS_COMPLETED, provider, **kwargs)[-1]


@dataclass(frozen=True, slots=True)
class SourceRow:
    body: dict[str, Any]
    content_hash: str
    created_at: Any
    updated_at: Any


def read_catalog(db: sa.Engine) -> dict[str, dict[str, Any]]:
    """The merged catalog: ref -> merged entity (the winning record's body when it alone
    contributes)."""
    statement = sa.select(source_entities.c.ref, merged_body()).join(
        catalog_entities,
        (catalog_entities.c.ref == source_entities.c.ref)
        & (catalog_entities.c.source == source_entities.c.source),
    )
    with db.connect() as connection:
        return {row.ref: row.body for row in connection.execute(statement)}


def read_catalog_refs(db: sa.Engine) -> set[str]:
    with db.connect() as connection:
        return set(connection.execute(sa.select(catalog_entities.c.ref)).scalars())


def read_catalog_updated_at(db: sa.Engine) -> dict[str, Any]:
    statement = sa.select(catalog_entities.c.ref, catalog_entities.c.updated_at)
    with db.connect() as connection:
        return {row.ref: row.updated_at for row in connection.execute(statement)}


def read_source(db: sa.Engine, provider: str = PROVIDER) -> dict[str, SourceRow]:
    """A provider's own records: ref -> body, hash and timestamps."""
    statement = sa.select(source_entities).where(source_entities.c.source == provider)
    with db.connect() as connection:
        return {
            row.ref: SourceRow(row.body, row.content_hash, row.created_at, row.updated_at)
            for row in connection.execute(statement)
        }


def read_marks(db: sa.Engine, ingestion_id: str) -> list[tuple[int, JSONValue]]:
    """``(sequence, cursor)`` of an ingestion's marks, in insertion (id) order."""
    statement = (
        sa.select(marks.c.sequence, marks.c.cursor)
        .where(marks.c.ingestion_id == ingestion_id)
        .order_by(marks.c.id)
    )
    with db.connect() as connection:
        return [(row.sequence, row.cursor) for row in connection.execute(statement)]


def read_marked_refs(db: sa.Engine, ingestion_id: str) -> dict[str, int | None]:
    """Refs an ingestion marked -> the sequence of their mark (``None`` for event marks)."""
    statement = (
        sa.select(mark_entities.c.ref, marks.c.sequence)
        .select_from(mark_entities.outerjoin(marks, marks.c.id == mark_entities.c.mark_id))
        .where(mark_entities.c.ingestion_id == ingestion_id)
    )
    with db.connect() as connection:
        return {row.ref: row.sequence for row in connection.execute(statement)}


def marking_ingestions(db: sa.Engine) -> set[str]:
    """Ingestions that own mark entities (they have no foreign key: deletes must take them)."""
    statement = sa.select(mark_entities.c.ingestion_id).distinct()
    with db.connect() as connection:
        return set(connection.execute(statement).scalars())


def strip_stamps(body: dict[str, Any], provider: str = PROVIDER) -> dict[str, Any]:
    """The body without the two location annotations, after checking they name the provider."""
    metadata = dict(body["metadata"])
    annotations = dict(metadata["annotations"])
    location = location_of(provider)
    assert annotations.pop(MANAGED_BY_LOCATION) == location
    assert annotations.pop(MANAGED_BY_ORIGIN_LOCATION) == location
    metadata["annotations"] = annotations
    return {**body, "metadata": metadata}


def expected_catalog(source: SyntheticSource) -> dict[str, Entity]:
    """What the catalog must hold for ``source`` (bodies without the stamped annotations)."""
    return {source.ref_of(i): source.entity(i) for i in source.live_indexes()}


def unstamped_catalog(db: sa.Engine, provider: str = PROVIDER) -> dict[str, dict[str, Any]]:
    return {ref: strip_stamps(body, provider) for ref, body in read_catalog(db).items()}


def refs_of(source: SyntheticSource, indexes: list[int] | range) -> set[str]:
    return {source.ref_of(i) for i in indexes}


class RecordingRepository(SqlRepository):
    """A SQL repository that remembers each ingestion as it was right after being closed.

    A completed rest clears older finished ingestions right after closing one, so the closed
    state is captured here, inside the transition.
    """

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.closed: list[Ingestion] = []

    def close(self, ingestion_id: str, fence: int, now: datetime, *, canceled: bool) -> None:
        super().close(ingestion_id, fence, now, canceled=canceled)
        closed = self.get(ingestion_id)
        assert closed is not None
        self.closed.append(closed)
