"""End to end with a real Backstage backend: the catalog ingested from a simulated OpenChoreo
installation by the real tasks (``ingest run --embedded --serve``: the Celery worker, its beat
and the HTTP service in one process) reaches Backstage through the change feed and the
project's catalog module (``backstage/e2e-backend``: ``createBackend()``,
``@backstage/plugin-catalog-backend``, the module; SQLite), and is asserted through
Backstage's own catalog API.

Needs ``make backstage`` (``npm ci`` in ``backstage/`` and the module's build); ``make test``
runs it first. Backstage's database is SQLite files in a directory (``connection:
{directory}``), not ``:memory:``, so the restart keeps its catalog and the module's position.
"""

import math
import re
import time
from pathlib import Path

import pytest

from tests.backstage.harness import (
    BATCH_SIZE,
    POLL_SECONDS,
    RELIST_LINE,
    assert_built,
    converge,
    deployment,
    wait_for,
)
from tests.support.http_service import READ_TOKEN


@pytest.fixture(scope="module", autouse=True)
def backstage_is_built() -> None:
    assert_built()


def test_backstage_holds_the_ingested_catalog_follows_changes_resumes_and_relists(
    tmp_path: Path,
) -> None:
    with deployment(tmp_path) as (upstream, ingester, backstage):
        ingestion = ingester.first_pass()
        expected = ingester.catalog()
        assert len(expected) > 20, sorted(expected)

        # 1. The whole catalog, as ingested, through Backstage's own API.
        backstage.start()
        converge(backstage, expected, "Backstage to hold the ingested catalog")
        first_batches = backstage.batches()
        assert first_batches and first_batches[0][0] == 0, backstage.output()[-3000:]
        assert sum(added for _, _, added, _ in first_batches) == len(expected)
        assert len(first_batches) == math.ceil(len(expected) / BATCH_SIZE), first_batches

        # 2. Changes and removals upstream, one pass: the next poll applies them.
        report = upstream.dataset.mutate(change=3, remove=2, add=1, seed=21, levels=("component",))
        assert report.removed and report.changed
        runs_before = len(backstage.runs())
        ingestion = ingester.run_pass(ingestion)
        pass_done = time.monotonic()
        changed = ingester.catalog()
        assert changed != expected
        gone = sorted(set(expected) - set(changed))
        assert gone, "the mutation removed nothing from the catalog"

        # Within one poll (plus the time of one run) the module has applied the whole change.
        def applied_the_change() -> re.Match[str] | None:
            return next((r for r in backstage.runs()[runs_before:] if int(r[1]) > 0), None)

        one_poll = 2 * POLL_SECONDS + 10
        applied = wait_for(
            "the module to apply the change", applied_the_change, one_poll, backstage.failures
        )
        assert time.monotonic() - pass_done <= one_poll
        assert applied[5] == "true" and int(applied[3]) >= len(gone), applied[0]
        converge(backstage, changed, "Backstage to reflect the change")

        # 3. Restart: Backstage resumes from its stored position, fetching only what is new.
        position = backstage.batches()[-1][1]
        backstage.stop()
        upstream.dataset.mutate(change=2, add=1, seed=22, levels=("component",))
        ingestion = ingester.run_pass(ingestion)
        after_restart = ingester.catalog()
        pending = ingester.pending(position)
        assert pending > 0
        backstage.start()
        converge(backstage, after_restart, "Backstage to catch up after its restart")
        resumed = backstage.batches()
        assert resumed, backstage.output()[-3000:]
        assert resumed[0][0] == position, (position, resumed)
        # Only the batches since the stored position were fetched; no relist.
        assert len(resumed) == math.ceil(pending / BATCH_SIZE), (pending, resumed)
        assert sum(added + removed for _, _, added, removed in resumed) <= pending
        assert RELIST_LINE.search(backstage.output()) is None

        # 4. Backstage away longer than the feed keeps tombstones: it relists and converges,
        #    removing exactly what vanished while it was away.
        before_relist = set(after_restart)
        backstage.stop()
        upstream.dataset.mutate(remove=3, add=2, seed=23, levels=("component",))
        ingestion = ingester.run_pass(ingestion)
        final = ingester.catalog()
        vanished = before_relist - set(final)
        assert vanished, "the mutation removed nothing"
        assert ingester.purge_every_tombstone() >= len(vanished)
        backstage.start()
        relist = wait_for(
            "the relist",
            lambda: RELIST_LINE.search(backstage.output()),
            2 * POLL_SECONDS + 30,
            backstage.failures,
        )
        pages, listed, removed, relist_position = map(int, relist.groups())
        assert listed == len(final)
        assert pages >= math.ceil(len(final) / BATCH_SIZE), pages
        assert removed == len(vanished), (removed, sorted(vanished))
        assert relist_position >= position
        converge(backstage, final, "Backstage to converge after the relist")

        # 5. Then it follows the feed again, from the head the relist answer gave.
        upstream.dataset.mutate(change=1, add=1, seed=24, levels=("component",))
        ingester.run_pass(ingestion)
        converge(backstage, ingester.catalog(), "Backstage to follow the feed after the relist")
        followed = backstage.batches()
        assert followed and followed[0][0] == relist_position, (relist_position, followed)
        assert len(RELIST_LINE.findall(backstage.output())) == 1

    # The token went with every request (the service answered them) and into no log line.
    for log in tmp_path.glob("backstage-*.log"):
        assert READ_TOKEN not in log.read_text(), log
