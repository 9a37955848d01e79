"""The change feed is loss-free under concurrent writers, on real PostgreSQL.

With positions from a plain sequence, writer 1 could take position 1, writer 2 position 2,
writer 2 commit first, and a reader see 2, store it, and never see 1. Here a writer takes the
feed's allocation lock before it merges and keeps it until it commits: writer 2, whose write
comes second, cannot take a position until writer 1 committed, so a reader can never see a
position while a lower one is still in flight.
"""

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.catalog import FeedChange
from catalog_ingest.engine.entity_preparation import prepare_entity
from models.catalog_merge import merge_refs
from models.catalog_writes import upsert_source_entities
from models.sql_repository import SqlRepository
from tests.aggregation.merge_support import T0, entity, ref
from tests.support.databases import truncate_all


@pytest.fixture
def pg(postgres_engine: sa.Engine) -> Iterator[sa.Engine]:
    truncate_all(postgres_engine)
    yield postgres_engine


def write_and_merge(connection: sa.Connection, source: str, name: str) -> None:
    """A writer's transaction body: store its record, then merge (allocating a position)."""
    upsert_source_entities(connection, source, [prepare_entity(entity(name), source)], 0, T0)
    merge_refs(connection, [ref(name)], T0)


class Reader(threading.Thread):
    """Polls the feed from its stored position, as a consumer does, until told to stop."""

    def __init__(self, repository: SqlRepository) -> None:
        super().__init__(daemon=True)
        self.repository, self.position = repository, 0
        self.seen: list[FeedChange] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            batch = self.repository.read_feed(self.position, limit=10)
            self.seen.extend(batch.changes)
            self.position = batch.next_position
            time.sleep(0.005)


def test_a_reader_never_skips_a_position_that_commits_late(pg: sa.Engine) -> None:
    repository = SqlRepository(pg)
    reader = Reader(repository)
    reader.start()
    first, second = pg.connect(), pg.connect()
    try:
        first.begin()
        write_and_merge(first, "one", "a")  # position taken, not committed
        second_done = threading.Event()

        def second_writer() -> None:
            second.begin()
            write_and_merge(second, "two", "b")
            second.commit()
            second_done.set()

        thread = threading.Thread(target=second_writer, daemon=True)
        thread.start()
        time.sleep(0.5)
        assert not second_done.is_set(), "the second writer allocated while the first was open"
        assert reader.seen == [], "the reader saw an uncommitted position"
        first.commit()
        assert second_done.wait(10)
        thread.join(10)
        deadline = time.monotonic() + 10
        while len(reader.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        reader.stop.set()
        reader.join(10)
        first.close()
        second.close()
    assert [change.ref for change in reader.seen] == [ref("a"), ref("b")]
    positions = [change.position for change in reader.seen]
    assert positions == sorted(positions) and len(set(positions)) == 2
    assert [c.ref for c in repository.read_feed(0).changes] == [ref("a"), ref("b")]


def test_many_concurrent_writers_leave_no_position_unseen(pg: sa.Engine) -> None:
    repository = SqlRepository(pg)
    reader = Reader(repository)
    reader.start()

    def writer(index: int) -> None:
        for round_ in range(5):
            with pg.begin() as connection:
                write_and_merge(connection, f"w{index}", f"w{index}-r{round_}")

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    deadline = time.monotonic() + 10
    while len(reader.seen) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    reader.stop.set()
    reader.join(10)
    assert sorted(c.ref for c in reader.seen) == sorted(
        ref(f"w{i}-r{r}") for i in range(4) for r in range(5)
    )
    assert [c.position for c in reader.seen] == list(range(1, 21))
