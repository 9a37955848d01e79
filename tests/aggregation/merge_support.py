"""Helpers of the merge, feed and expiry tests: write a source's records the way an event
does (``apply_delta``: the real storage path, under a fresh fence), and read the results."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from catalog_ingest.aggregation.entity_rules import canonical_json, content_hash
from catalog_ingest.contracts.catalog import FeedChange
from catalog_ingest.engine.entity_preparation import prepare_entity
from models.sql_repository import SqlRepository

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def entity(name: str, **metadata: Any) -> dict[str, Any]:
    """A Component ``name`` with extra ``metadata`` keys and a ``spec`` from ``spec=``."""
    spec = metadata.pop("spec", {"type": "service", "lifecycle": "production", "owner": "team"})
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, **metadata},
        "spec": spec,
    }


def ref(name: str) -> str:
    return f"component:default/{name}"


def write(
    repository: SqlRepository,
    source: str,
    entities: Sequence[dict[str, Any]],
    *,
    priority: int = 0,
    now: datetime = T0,
    ttl_seconds: int | None = None,
    replace: bool = False,
    removed: Sequence[str] = (),
) -> None:
    """Store ``source``'s versions of ``entities`` (and delete its records of ``removed``)."""
    ingestion = repository.get_open(source) or repository.open_ingestion(source, now)
    fence = repository.take_fence(ingestion.id)
    prepared = [prepare_entity(item, source) for item in entities]
    repository.apply_delta(
        ingestion,
        fence,
        prepared,
        list(removed),
        priority,
        now,
        ttl_seconds=ttl_seconds,
        merge_replace=replace,
    )


def merged(repository: SqlRepository, name: str) -> dict[str, Any] | None:
    entry = repository.catalog_entry(ref(name))
    return None if entry is None else entry.entity


def read_all(repository: SqlRepository, after: int = 0) -> list[FeedChange]:
    """Every change after ``after``, read in small batches as a consumer would."""
    changes: list[FeedChange] = []
    while True:
        batch = repository.read_feed(after, limit=3)
        assert not batch.relist
        if not batch.changes:
            return changes
        changes.extend(batch.changes)
        after = batch.next_position


def hash_of(body: Any) -> str:
    return content_hash(canonical_json(body))
