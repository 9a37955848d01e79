"""What a simulated dataset is made of: its spec (sizes, seed) and the identity of one node."""

from dataclasses import dataclass
from typing import Literal

Level = Literal["org", "project", "component"]
LEVELS: tuple[Level, ...] = ("org", "project", "component")

MAX_NAME_LENGTH = 40
BASE_NAME_BUDGET = 30
"""Generated names stay this short so added names (``<anchor>-n<serial>``) fit in 40."""
MAX_WORD_LENGTH = 10
"""Longest word that names embed (see :mod:`catalog_ingest.simulator.names`)."""


@dataclass(frozen=True)
class DatasetSpec:
    """Sizes are per parent: ``projects`` in each org, ``components`` in each project."""

    orgs: int
    projects: int
    components: int
    seed: int = 1
    shared_names: bool = False
    """Project j has the same name in every org; component names repeat across orgs."""
    hidden_every: int | None = None
    """Every n-th item is hidden from the caller (filtered after paging, like authorization)."""
    service_share: float = 0.6

    def __post_init__(self) -> None:
        for field_name in ("orgs", "projects", "components"):
            if getattr(self, field_name) < 0:
                raise ValueError(f"{field_name} must be >= 0, got {getattr(self, field_name)}")
        if self.hidden_every is not None and self.hidden_every < 2:
            raise ValueError(f"hidden_every must be >= 2, got {self.hidden_every}")
        if not 0.0 <= self.service_share <= 1.0:
            raise ValueError(f"service_share must be within [0, 1], got {self.service_share}")
        if self.longest_base_name() > BASE_NAME_BUDGET:
            raise ValueError("dataset too large: generated names would exceed 40 characters")

    @property
    def total_projects(self) -> int:
        return self.orgs * self.projects

    @property
    def total_components(self) -> int:
        return self.orgs * self.projects * self.components

    def width(self, level: Level) -> int:
        """Digits of a zero-padded index at ``level``: padding keeps str order = index order."""
        count = {"org": self.orgs, "project": self.projects, "component": self.components}[level]
        return len(str(max(count - 1, 0)))

    def longest_base_name(self) -> int:
        """Length of the longest generated name: ``comp-<org>-<project>-<component>-<word>``."""
        digits = sum(self.width(level) for level in LEVELS)
        return len("comp----") + digits + MAX_WORD_LENGTH


@dataclass(frozen=True)
class Node:
    """One organization, project or component, identified by its path of names.

    ``indexes`` are the generator positions at each level; None for an item added by a mutation
    (and everything under it), whose data is keyed by its path and ``serial`` instead.
    """

    path: tuple[str, ...]
    indexes: tuple[int, ...] | None
    serial: int | None = None

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def level(self) -> Level:
        return LEVELS[len(self.path) - 1]

    @property
    def child_level(self) -> Level:
        return LEVELS[len(self.path)]

    @property
    def upstream_path(self) -> str:
        """``org``, ``org/project`` or ``org/project/component``."""
        return "/".join(self.path)


ROOT = Node(path=(), indexes=())
