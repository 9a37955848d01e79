"""A deterministic synthetic source and provider: for the demo, the tests and the benchmark.

Entities are generated on demand from their index, so a source of a million entities costs no
memory; mutations (add, change, remove) are small sets. The cursor is the next index to read,
a keyset position that stays valid across mutations.
"""

import random
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from catalog_ingest.contracts.provider import BurstInfo, Entity, JSONValue, Page
from catalog_ingest.engine.entity_preparation import entity_ref

_KINDS = ("Component", "API", "System")


@dataclass
class SyntheticSource:
    """``size`` indexed entities minus ``removed``; ``revisions`` marks changed ones."""

    size: int
    seed: int = 1
    body_bytes: int = 1500
    namespace: str = "default"
    removed: set[int] = field(default_factory=set)
    revisions: dict[int, int] = field(default_factory=dict)
    invalid_every: int | None = None
    """Every n-th entity gets a name Backstage rejects (to exercise per-entity rejection)."""

    def kind_of(self, index: int) -> str:
        return "System" if index % 50 == 0 else "API" if index % 10 == 0 else "Component"

    def name_of(self, index: int) -> str:
        if self.invalid_every and index % self.invalid_every == self.invalid_every - 1:
            return f"bad name {index}!"
        return f"{self.kind_of(index).lower()}-{self.seed}-{index:07d}"

    def entity(self, index: int) -> Entity:
        """The entity at ``index``, identical on every call for the same revision."""
        revision = self.revisions.get(index, 0)
        kind = self.kind_of(index)
        spec: dict[str, Any] = {"owner": f"team-{index % 17}", "lifecycle": "production"}
        if kind == "Component":
            spec |= {"type": "service", "system": f"system-{self.seed}-{index // 50 * 50:07d}"}
        elif kind == "API":
            spec |= {"type": "openapi", "definition": "openapi: 3.0.0"}
        description = f"synthetic {kind} {index} revision {revision} "
        padding = max(0, self.body_bytes - 400 - len(description))
        return {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": kind,
            "metadata": {
                "name": self.name_of(index),
                "namespace": self.namespace,
                "description": description + "x" * padding,
                "labels": {"synthetic/seed": str(self.seed)},
                "annotations": {"synthetic/revision": str(revision)},
            },
            "spec": spec,
        }

    def ref_of(self, index: int) -> str:
        return entity_ref(self.kind_of(index), self.namespace, self.name_of(index))

    def live_indexes(self) -> Iterator[int]:
        return (i for i in range(self.size) if i not in self.removed)

    def page(self, start: int, limit: int) -> tuple[list[Entity], int]:
        """Up to ``limit`` live entities from index ``start``; returns them and the next index."""
        entities: list[Entity] = []
        index = start
        while index < self.size and len(entities) < limit:
            if index not in self.removed:
                entities.append(self.entity(index))
            index += 1
        return entities, index

    def add(self, count: int) -> list[int]:
        added = list(range(self.size, self.size + count))
        self.size += count
        return added

    def remove(self, indexes: Iterable[int]) -> None:
        self.removed.update(indexes)

    def change(self, indexes: Iterable[int]) -> None:
        for index in indexes:
            self.revisions[index] = self.revisions.get(index, 0) + 1

    def sample(self, count: int, rng: random.Random) -> list[int]:
        """``count`` distinct live indexes (for mutations in tests and the demo)."""
        live = [i for i in range(self.size) if i not in self.removed]
        return rng.sample(live, min(count, len(live)))


class SyntheticProvider:
    """Walks a :class:`SyntheticSource` in pages of ``page_size``."""

    def __init__(
        self, name: str, source: SyntheticSource, page_size: int = 500, page_delay: float = 0.0
    ) -> None:
        self._name = name
        self.source = source
        self.page_size = page_size
        self.page_delay = page_delay
        """Seconds each page takes, as a slow upstream would (tests of long bursts)."""

    @property
    def name(self) -> str:
        return self._name

    def around(self, burst: BurstInfo) -> AbstractContextManager[SyntheticSource]:
        return nullcontext(self.source)

    def next(self, context: SyntheticSource, cursor: JSONValue) -> Page:
        start = cursor["next"] if isinstance(cursor, dict) else 0
        if not isinstance(start, int):
            raise ValueError(f"synthetic cursor must hold an integer 'next', got {cursor!r}")
        if self.page_delay:
            time.sleep(self.page_delay)
        entities, next_index = context.page(start, self.page_size)
        done = next_index >= context.size
        return Page(done=done, entities=entities, cursor=None if done else {"next": next_index})


class SyntheticSettings(BaseModel):
    """Settings of a synthetic provider (``providers[].settings`` with ``type: synthetic``)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    entities: int = Field(1000, ge=0, le=100_000_000, description="Entities at the start.")
    page_size: int | None = Field(
        None, ge=1, le=10_000, description="Entities per page; default: the chunk_size option."
    )
    page_delay_ms: float = Field(
        0, ge=0, le=600_000, description="How long each page takes, as a slow upstream would."
    )
    seed: int = Field(1, ge=0, description="Part of every name: sources of other seeds differ.")
    body_bytes: int = Field(1500, ge=0, le=1_000_000, description="Approximate entity size.")
    namespace: str = Field(
        "default",
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="metadata.namespace of every entity.",
    )

    def source(self) -> SyntheticSource:
        """A fresh source of these settings."""
        return SyntheticSource(
            size=self.entities,
            seed=self.seed,
            body_bytes=self.body_bytes,
            namespace=self.namespace,
        )
