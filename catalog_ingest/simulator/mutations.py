"""Seeded upstream changes between passes: add, change and remove at any of the three levels.

Each operation picks its level with odds proportional to the generated population of each level
(as if it picked a random item of the whole dataset), restricted to ``levels`` when given.
Removing an org or project removes its subtree (only the removed node is reported). An added
org comes with one new project, and an added project with one to three new components; every
new path is reported. Additions never land on hidden positions, so all of them are visible.
"""

import random
from bisect import insort
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from catalog_ingest.simulator.names import added_name
from catalog_ingest.simulator.spec import LEVELS, ROOT, Level, Node

if TYPE_CHECKING:
    from catalog_ingest.simulator.dataset import Dataset

ATTEMPTS = 25
CHILD: dict[Level, Level] = {"org": "project", "project": "component"}


@dataclass
class MutationReport:
    """Upstream paths (``org``, ``org/project``, ``org/project/component``) by what happened."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, list[str]]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed}


class _Mutator:
    def __init__(self, dataset: "Dataset", seed: int, levels: tuple[Level, ...]) -> None:
        self.dataset = dataset
        self.rng = random.Random(seed)
        self.levels = levels
        self.report = MutationReport()

    def level(self) -> Level:
        spec = self.dataset.spec
        population = {
            "org": spec.orgs,
            "project": spec.total_projects,
            "component": spec.total_components,
        }
        weights = [max(population[level], 1) for level in self.levels]
        return self.rng.choices(self.levels, weights)[0]

    def random_child(self, parent: Node) -> Node | None:
        """A random visible child of ``parent`` (None when a few tries find none)."""
        generated = self.dataset.generated(parent)
        added = self.dataset.overlay.added.get(parent.path, [])
        count = len(generated)
        for _ in range(ATTEMPTS if count + len(added) else 0):
            position = self.rng.randrange(count + len(added))
            name = generated[position] if position < count else added[position - count]
            node = self.dataset.child(parent, name)
            if node is not None and not self.dataset.is_hidden(node):
                return node
        return None

    def random_node(self, level: Level) -> Node | None:
        for _ in range(ATTEMPTS):
            node: Node | None = ROOT
            for _ in range(LEVELS.index(level) + 1):
                node = None if node is None else self.random_child(node)
            if node is not None:
                return node
        return None

    def remove(self) -> None:
        node = self.random_node(self.level())
        if node is not None:
            self.dataset.overlay.removed.add(node.path)
            self.report.removed.append(node.upstream_path)

    def change(self) -> None:
        node = self.random_node(self.level())
        if node is not None and node.upstream_path not in self.report.changed:
            revisions = self.dataset.overlay.revisions
            revisions[node.path] = revisions.get(node.path, 0) + 1
            self.report.changed.append(node.upstream_path)

    def add(self) -> None:
        level = self.level()
        parent = ROOT if level == "org" else self.random_node(LEVELS[LEVELS.index(level) - 1])
        if parent is not None:
            self.add_under(parent, level)

    def add_under(self, parent: Node, level: Level) -> None:
        anchor = self.random_child(parent)
        overlay = self.dataset.overlay
        while True:
            serial = overlay.next_serial
            overlay.next_serial += 1
            name = added_name(level, None if anchor is None else anchor.name, serial)
            node = Node((*parent.path, name), None, serial)
            if not self.dataset.is_hidden(node):
                break
        insort(overlay.added.setdefault(parent.path, []), name)
        overlay.serials[node.path] = serial
        self.report.added.append(node.upstream_path)
        children = {"org": 1, "project": 1 + self.rng.randrange(3), "component": 0}[level]
        for _ in range(children):
            self.add_under(node, CHILD[level])


def apply_mutations(
    dataset: "Dataset",
    add: int,
    change: int,
    remove: int,
    seed: int,
    levels: tuple[Level, ...] | None = None,
) -> MutationReport:
    """Remove, then change, then add (so nothing added is also changed or removed)."""
    if any(count < 0 for count in (add, change, remove)):
        raise ValueError("add, change and remove must be >= 0")
    mutator = _Mutator(dataset, seed, levels or LEVELS)
    for _ in range(remove):
        mutator.remove()
    for _ in range(change):
        mutator.change()
    for _ in range(add):
        mutator.add()
    dataset.overlay.generation += 1
    return mutator.report
