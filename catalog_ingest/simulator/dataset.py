"""A deterministic, lazy OpenChoreo dataset: organizations > projects > components.

Generated items exist only as indexes; a listing page is found by bisecting the lazy, sorted
sequence of generated names and merging the few items added by mutations. Mutations are small
overlays (removed paths, revisions, added names), so a million components cost almost nothing
until they are read. Hidden items exist (they take a place in a page) but are filtered out after
paging, like the real server's authorization filter.
"""

import heapq
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from catalog_ingest.contracts.errors import IngestError
from catalog_ingest.simulator.draws import stable_int
from catalog_ingest.simulator.mutations import MutationReport, apply_mutations
from catalog_ingest.simulator.names import Namer
from catalog_ingest.simulator.records import (
    JSONDict,
    component_detail,
    component_record,
    org_record,
    project_record,
)
from catalog_ingest.simulator.spec import LEVELS, ROOT, DatasetSpec, Level, Node

Path = tuple[str, ...]


class NotFoundError(IngestError, KeyError):
    """An organization, project or component that does not exist or is not visible."""

    code = "NOT_FOUND"
    noun = "item"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"{self.noun} {self.name} not found"


class OrganizationNotFoundError(NotFoundError):
    code = "ORGANIZATION_NOT_FOUND"
    noun = "organization"


class ProjectNotFoundError(NotFoundError):
    code = "PROJECT_NOT_FOUND"
    noun = "project"


class ComponentNotFoundError(NotFoundError):
    code = "COMPONENT_NOT_FOUND"
    noun = "component"


NOT_FOUND: dict[Level, type[NotFoundError]] = {
    "org": OrganizationNotFoundError,
    "project": ProjectNotFoundError,
    "component": ComponentNotFoundError,
}


@dataclass
class Overlay:
    """Everything mutations changed, keyed by path; the generated data is never copied."""

    removed: set[Path] = field(default_factory=set)
    """Removed items (their subtrees go with them)."""
    revisions: dict[Path, int] = field(default_factory=dict)
    added: dict[Path, list[str]] = field(default_factory=dict)
    """Sorted names added under each parent path."""
    serials: dict[Path, int] = field(default_factory=dict)
    next_serial: int = 1
    generation: int = 0


@dataclass(frozen=True)
class PageWindow:
    """One page of a listing, after the authorization filter."""

    items: list[JSONDict]
    last_name: str | None
    """Last name the page covered, visible or not: the next page starts strictly after it."""
    last_visible: str | None
    has_more: bool


class _GeneratedNames:
    """The sorted names of a parent's generated children, computed on access (for bisect)."""

    def __init__(self, namer: Namer, parent_indexes: tuple[int, ...], count: int) -> None:
        self._namer = namer
        self._parent = parent_indexes
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> str:
        return self._namer.child(self._parent, index)


class Dataset:
    """The upstream data. Reads and mutations may come from several threads."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.namer = Namer(spec)
        self.overlay = Overlay()
        self.lock = threading.RLock()

    @property
    def resource_version(self) -> str:
        return str(1000 + self.overlay.generation)

    # Structure

    def generated(self, parent: Node) -> _GeneratedNames:
        sizes = (self.spec.orgs, self.spec.projects, self.spec.components)
        count = 0 if parent.indexes is None else sizes[len(parent.path)]
        return _GeneratedNames(self.namer, parent.indexes or (), count)

    def child(self, parent: Node, name: str) -> Node | None:
        """The existing (not removed) child ``name`` of ``parent``, hidden or not."""
        path = (*parent.path, name)
        if path in self.overlay.removed:
            return None
        if parent.indexes is not None:
            names = self.generated(parent)
            index = bisect_left(names, name)
            if index < len(names) and names[index] == name:
                return Node(path, (*parent.indexes, index))
        serial = self.overlay.serials.get(path)
        return None if serial is None else Node(path, None, serial)

    def children(self, parent: Node, after: str | None = None) -> Iterator[Node]:
        """Existing children of ``parent`` in name order, strictly after ``after``."""
        names = self.generated(parent)
        added = self.overlay.added.get(parent.path, [])
        start = 0 if after is None else bisect_right(names, after)
        first_added = 0 if after is None else bisect_right(added, after)
        indexes = parent.indexes or ()
        generated = (
            Node((*parent.path, names[k]), (*indexes, k)) for k in range(start, len(names))
        )
        serials = self.overlay.serials
        extra = (
            Node((*parent.path, name), None, serials[(*parent.path, name)])
            for name in added[first_added:]
        )
        for node in heapq.merge(generated, extra, key=lambda node: node.name):
            if node.path not in self.overlay.removed:
                yield node

    def is_hidden(self, node: Node) -> bool:
        every = self.spec.hidden_every
        if every is None:
            return False
        if node.indexes is not None:
            position = node.indexes[-1]
        else:
            position = stable_int(self.spec.seed, "hidden", node.upstream_path)
        return position % every == every - 1

    def node(self, path: Path) -> Node:
        """The visible node at ``path``, or the NotFoundError of the first missing level."""
        node = ROOT
        with self.lock:
            for name in path:
                found = self.child(node, name)
                if found is None or self.is_hidden(found):
                    raise NOT_FOUND[node.child_level](name)
                node = found
        return node

    def record(self, node: Node) -> JSONDict:
        """The list form of ``node``."""
        revision = self.overlay.revisions.get(node.path, 0)
        make = {"org": org_record, "project": project_record, "component": component_record}
        return make[node.level](self.spec, node, revision)

    # Reads, as the HTTP API serves them

    def page(
        self, parent_path: Path, after: str | None, limit: int, repeat: str | None = None
    ) -> PageWindow:
        """``limit`` existing children after ``after``, then filtered; ``repeat`` goes first."""
        with self.lock:
            parent = self.node(parent_path)
            items: list[JSONDict] = []
            repeated = None if repeat is None else self.child(parent, repeat)
            if repeated is not None and not self.is_hidden(repeated):
                items.append(self.record(repeated))
            children = self.children(parent, after)
            window = list(islice(children, limit))
            has_more = next(children, None) is not None
            visible = [node for node in window if not self.is_hidden(node)]
            items.extend(self.record(node) for node in visible)
            return PageWindow(
                items=items,
                last_name=window[-1].name if window else None,
                last_visible=visible[-1].name if visible else None,
                has_more=has_more,
            )

    def component_detail(
        self, org: str, project: str, name: str, include_workload: bool = False
    ) -> JSONDict:
        with self.lock:
            node = self.node((org, project, name))
            revision = self.overlay.revisions.get(node.path, 0)
            return component_detail(self.spec, node, revision, include_workload)

    # Expected sets, for tests: visible items only, sorted by name within each parent

    def visible_children(self, parent_path: Path) -> Iterator[Node]:
        parent = self.node(parent_path)
        return (node for node in self.children(parent) if not self.is_hidden(node))

    def orgs(self) -> list[JSONDict]:
        with self.lock:
            return [self.record(node) for node in self.visible_children(())]

    def projects(self, org: str) -> list[JSONDict]:
        with self.lock:
            return [self.record(node) for node in self.visible_children((org,))]

    def components(self, org: str, project: str) -> list[JSONDict]:
        with self.lock:
            return [self.record(node) for node in self.visible_children((org, project))]

    def iter_nodes(self, level: Level) -> Iterator[Node]:
        """Every visible node at ``level``, depth first in name order (not safe during mutate)."""
        depth = LEVELS.index(level) + 1

        def walk(path: Path) -> Iterator[Node]:
            for node in self.visible_children(path):
                if len(node.path) == depth:
                    yield node
                else:
                    yield from walk(node.path)

        return walk(())

    def iter_orgs(self) -> Iterator[JSONDict]:
        return (self.record(node) for node in self.iter_nodes("org"))

    def iter_projects(self) -> Iterator[JSONDict]:
        return (self.record(node) for node in self.iter_nodes("project"))

    def iter_components(self) -> Iterator[JSONDict]:
        return (self.record(node) for node in self.iter_nodes("component"))

    def paths(self, level: Level) -> Iterator[str]:
        """Upstream paths (``org/project/component``) of every visible node at ``level``."""
        return (node.upstream_path for node in self.iter_nodes(level))

    def remove(self, upstream_path: str) -> None:
        """Delete one item (its subtree goes with it) by its path ``org[/project[/comp]]``."""
        with self.lock:
            path = tuple(upstream_path.split("/"))
            self.node(path)  # NotFoundError when it does not exist
            self.overlay.removed.add(path)
            self.overlay.generation += 1

    def mutate(
        self,
        add: int = 0,
        change: int = 0,
        remove: int = 0,
        seed: int = 0,
        levels: tuple[Level, ...] | None = None,
    ) -> MutationReport:
        """Apply seeded upstream changes between passes; see :mod:`.mutations`."""
        with self.lock:
            return apply_mutations(self, add, change, remove, seed, levels)
