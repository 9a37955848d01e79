"""The namespace era's listings over the dataset, in Kubernetes key order (by ``metadata.name``).

An organization is a namespace: its projects are listed as they are in the organization era,
but its components are listed per namespace (the projects' components merged by name; names
are unique within an organization) and so are its workloads, one per service component, named
``<component>-workload``. Windows cover hidden items too: like the server's authorization
filter, :func:`visible` drops them after paging. Callers hold ``dataset.lock``.
"""

import heapq
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Literal, Protocol

from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.records import JSONDict, component_kind
from catalog_ingest.simulator.resources import (
    component_resource,
    namespace_resource,
    project_resource,
    workload_name,
    workload_resource,
)
from catalog_ingest.simulator.spec import DatasetSpec, Node

Kind = Literal["namespace", "project", "component", "workload"]
RENDER: dict[Kind, Callable[[DatasetSpec, Node, int], JSONDict]] = {
    "namespace": namespace_resource,
    "project": project_resource,
    "component": component_resource,
    "workload": workload_resource,
}


@dataclass(frozen=True)
class Entry:
    """One listed resource: its name in the listing and the dataset node behind it."""

    key: str
    node: Node
    """The namespace, project or component (a workload's component)."""
    project: Node | None = None
    """The project of a component or workload (its visibility counts too)."""


@dataclass(frozen=True)
class Window:
    """What a Kubernetes list call returns: up to ``limit`` entries after a key."""

    entries: list[Entry]
    has_more: bool


class View(Protocol):
    kind: Kind

    def window(self, after: str | None, limit: int) -> Window: ...

    def count_after(self, after: str | None) -> int:
        """How many entries (hidden ones included) follow ``after``."""
        ...

    def lookup(self, key: str) -> Entry | None: ...


def visible(dataset: Dataset, entry: Entry) -> bool:
    hidden = dataset.is_hidden(entry.node)
    return not hidden and (entry.project is None or not dataset.is_hidden(entry.project))


def render(dataset: Dataset, kind: Kind, entry: Entry) -> JSONDict:
    revision = dataset.overlay.revisions.get(entry.node.path, 0)
    return RENDER[kind](dataset.spec, entry.node, revision)


def _window(entries: Iterator[Entry], limit: int) -> Window:
    taken = list(islice(entries, limit + 1))
    return Window(taken[:limit], len(taken) > limit)


def count_children_after(dataset: Dataset, parent: Node, after: str | None) -> int:
    """Existing children of ``parent`` named after ``after``, by bisection (no listing)."""
    generated = dataset.generated(parent)
    added = dataset.overlay.added.get(parent.path, [])
    depth = len(parent.path) + 1
    removed = sum(
        1
        for path in dataset.overlay.removed
        if len(path) == depth and path[:-1] == parent.path and (after is None or path[-1] > after)
    )
    if after is None:
        return len(generated) + len(added) - removed
    later = len(generated) - bisect_right(generated, after)
    return later + len(added) - bisect_right(added, after) - removed


class ChildView:
    """Namespaces (children of the root) or the projects of a namespace."""

    def __init__(self, dataset: Dataset, parent: Node, kind: Kind) -> None:
        self.dataset = dataset
        self.parent = parent
        self.kind = kind

    def window(self, after: str | None, limit: int) -> Window:
        children = self.dataset.children(self.parent, after)
        return _window((Entry(node.name, node) for node in children), limit)

    def count_after(self, after: str | None) -> int:
        return count_children_after(self.dataset, self.parent, after)

    def lookup(self, key: str) -> Entry | None:
        node = self.dataset.child(self.parent, key)
        return None if node is None else Entry(key, node)


class ComponentsView:
    """The components of a namespace: every project's, merged in name order."""

    kind: Kind = "component"

    def __init__(self, dataset: Dataset, namespace: Node) -> None:
        self.dataset = dataset
        self.projects = list(dataset.children(namespace))

    def _of(self, project: Node, after: str | None) -> Iterator[Entry]:
        return (Entry(node.name, node, project) for node in self.dataset.children(project, after))

    def window(self, after: str | None, limit: int) -> Window:
        merged = heapq.merge(*(self._of(p, after) for p in self.projects), key=lambda e: e.key)
        return _window(merged, limit)

    def count_after(self, after: str | None) -> int:
        return sum(count_children_after(self.dataset, p, after) for p in self.projects)

    def lookup(self, key: str) -> Entry | None:
        for project in self.projects:
            node = self.dataset.child(project, key)
            if node is not None:
                return Entry(key, node, project)
        return None


class WorkloadsView:
    """The workloads of a namespace, from a sorted index (see :class:`WorkloadIndex`)."""

    kind: Kind = "workload"

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.keys = [entry.key for entry in entries]

    def window(self, after: str | None, limit: int) -> Window:
        start = 0 if after is None else bisect_right(self.keys, after)
        return Window(self.entries[start : start + limit], start + limit < len(self.entries))

    def count_after(self, after: str | None) -> int:
        return len(self.keys) - (0 if after is None else bisect_right(self.keys, after))

    def lookup(self, key: str) -> Entry | None:
        index = bisect_left(self.keys, key)
        found = index < len(self.keys) and self.keys[index] == key
        return self.entries[index] if found else None


class WorkloadIndex:
    """Each namespace's workloads sorted by name, rebuilt after a mutation.

    Workload names do not sort like their components' (``a-n1-workload`` < ``a-workload``), so
    the order cannot be merged lazily like the components'; one pass over the namespace's
    components builds it, kept until the dataset changes.
    """

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._generation = -1
        self._views: dict[str, WorkloadsView] = {}
        self._lock = threading.Lock()

    def of(self, namespace: Node) -> WorkloadsView:
        dataset = self._dataset
        with self._lock:
            if self._generation != dataset.overlay.generation:
                self._views.clear()
                self._generation = dataset.overlay.generation
            view = self._views.get(namespace.name)
            if view is None:
                view = self._views[namespace.name] = WorkloadsView(self._build(namespace))
            return view

    def _build(self, namespace: Node) -> list[Entry]:
        dataset = self._dataset
        entries = [
            Entry(workload_name(component.name), component, project)
            for project in dataset.children(namespace)
            for component in dataset.children(project)
            if component_kind(dataset.spec, component) == "service"
        ]
        return sorted(entries, key=lambda entry: entry.key)
