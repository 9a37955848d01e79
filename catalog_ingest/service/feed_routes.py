"""``GET /api/catalog/feed``: the change feed of the merged catalog, in batches from a position.

The Backstage module (``backstage/catalog-backend-module-catalog-ingest``) pulls it: it applies
``items`` (an entity, or ``null`` for a removal) as one delta mutation, then stores
``nextPosition`` and asks from there next time. ``relist: true`` answers a position older than
the kept tombstone window: removals it never saw are gone, so the reader lists the catalog
through the read API, drops what it had applied and did not see, and continues from
``nextPosition`` (the feed's head, taken before its listing).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from catalog_ingest.service.auth import guard, service_context
from catalog_ingest.service.context import ServiceContext
from catalog_ingest.service.envelope import ERROR_RESPONSES

router = APIRouter(prefix="/api/catalog", tags=["feed"])

Context = Annotated[ServiceContext, Depends(service_context)]
MAX_BATCH = 1000
MAX_POSITION = 2**63 - 1
"""Positions are BIGINT: a larger ``after`` is bad input (a 400), not a database error."""


class FeedItem(BaseModel):
    position: int
    ref: str
    entity: dict[str, Any] | None
    """The merged entity; null: the ref left the catalog."""


class FeedPage(BaseModel):
    items: list[FeedItem]
    nextPosition: int
    """Ask with ``after`` = this next time (equal to ``after`` when drained)."""
    relist: bool


@router.get("/feed", response_model=FeedPage, dependencies=guard("read"), responses=ERROR_RESPONSES)
def feed(
    context: Context,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="The last position applied; 0: start.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_BATCH, description="Items at most.")] = 500,
) -> FeedPage:
    """Changes after ``after``, in position order (each ref's latest state)."""
    batch = context.runtime.repository.read_feed(after, limit)
    return FeedPage(
        items=[
            FeedItem(position=change.position, ref=change.ref, entity=change.entity)
            for change in batch.changes
        ],
        nextPosition=batch.next_position,
        relist=batch.relist,
    )
