"""``GET /api/catalog/feed`` on a real server: a pass's entities in position order, batches
that resume where the last one ended, tombstones for removals, relist behind the window."""

from typing import Any

import httpx
import sqlalchemy as sa

from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.service.context import ServiceContext
from models.tables import feed_state
from tests.service.conftest import PROVIDER
from tests.support.http_service import MANAGE_TOKEN, READ_TOKEN, bearer, envelope_of


def read_all(base_url: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    while True:
        page = httpx.get(
            f"{base_url}/api/catalog/feed",
            params={"after": after, "limit": limit},
            headers=bearer(READ_TOKEN),
            timeout=30,
        ).json()
        assert page["relist"] is False
        if not page["items"]:
            assert page["nextPosition"] == after
            return items, after
        items.extend(page["items"])
        after = page["nextPosition"]


def test_the_feed_serves_a_pass_in_batches_and_then_its_removals(
    base_url: str, service: ServiceContext
) -> None:
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.PASS_COMPLETED
    items, head = read_all(base_url, 0, 70)
    positions = [item["position"] for item in items]
    assert positions == sorted(positions) and len(set(positions)) == 300
    assert {item["ref"] for item in items} == set(
        service.runtime.repository.stored_entities(PROVIDER, [i["ref"] for i in items])
    )
    assert all(item["entity"]["metadata"]["name"] for item in items)
    assert read_all(base_url, head, 70) == ([], head)  # drained

    # every record goes (as `ingest forget` does): each ref leaves the catalog
    service.runtime.repository.forget_source(PROVIDER, service.runtime.engine.clock.now())
    tombstones, _ = read_all(base_url, head, 1000)
    assert all(t["entity"] is None for t in tombstones)
    assert {t["ref"] for t in tombstones} == {i["ref"] for i in items}
    assert min(t["position"] for t in tombstones) > head


def test_a_position_behind_the_purged_window_is_told_to_relist(
    base_url: str, service: ServiceContext
) -> None:
    service.runtime.engine.tick(PROVIDER)
    with service.runtime.database.begin() as connection:
        connection.execute(sa.update(feed_state).values(purged_position=10))
    page = httpx.get(
        f"{base_url}/api/catalog/feed", params={"after": 3}, headers=bearer(READ_TOKEN)
    ).json()
    assert page["relist"] is True and page["items"] == []
    assert page["nextPosition"] >= 300


def test_a_position_beyond_the_feeds_head_is_told_to_relist(
    base_url: str, service: ServiceContext
) -> None:
    """A reader whose position came from another database (recreated, restored) relists."""
    service.runtime.engine.tick(PROVIDER)
    page = httpx.get(
        f"{base_url}/api/catalog/feed", params={"after": 10_000}, headers=bearer(READ_TOKEN)
    ).json()
    assert page["relist"] is True and page["items"] == []
    assert page["nextPosition"] == 300


def test_the_feed_needs_the_read_scope_and_valid_bounds(base_url: str) -> None:
    refused = httpx.get(f"{base_url}/api/catalog/feed", headers=bearer(MANAGE_TOKEN))
    assert refused.status_code == 403
    bad = httpx.get(f"{base_url}/api/catalog/feed", params={"limit": 0}, headers=bearer(READ_TOKEN))
    assert bad.status_code == 400
    envelope_of(bad)
