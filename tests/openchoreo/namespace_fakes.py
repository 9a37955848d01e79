"""An in-memory namespace-era listing server for the walk's tests, and a walk driver.

It pages sorted names with opaque cursors ``<listing>#<last name>`` and can reject cursors
(the server's 500 for an expired one), repeat an item across pages, hide items (short or empty
pages with a next cursor), delete a namespace mid-walk (404), and hand out cursors that never
advance or that cycle between two values.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from catalog_ingest.providers.openchoreo.listing import Listing
from catalog_ingest.providers.openchoreo.namespace_payloads import (
    Component,
    Namespace,
    Project,
    Resource,
    Workload,
)
from catalog_ingest.providers.openchoreo.namespace_walk import Kind, NamespaceCursor, step
from catalog_ingest.providers.openchoreo.upstream_errors import (
    CursorRejectedError,
    NotFoundError,
)


@dataclass
class FakeNamespace:
    projects: list[str] = field(default_factory=list)
    components: dict[str, str] = field(default_factory=dict)
    """component -> project."""
    workloads: dict[str, str] = field(default_factory=dict)
    """workload name -> component."""


Installation = dict[str, FakeNamespace]


def installation(
    namespaces: int,
    projects: int,
    components: int,
    *,
    workload_name: Callable[[str], str] = lambda c: c + "-workload",
    with_workload: Callable[[int], bool] = lambda k: k % 2 == 0,
    names: Callable[[int, int, int], str] | None = None,
) -> Installation:
    """``components`` per project; every other one has a workload (a service)."""
    data: Installation = {}
    for i in range(namespaces):
        ns = FakeNamespace(projects=[f"p{i}-{j:02d}" for j in range(projects)])
        for j, project in enumerate(ns.projects):
            for k in range(components):
                name = names(i, j, k) if names else f"c{i}-{j:02d}-{k:03d}"
                ns.components[name] = project
                if with_workload(k):
                    ns.workloads[workload_name(name)] = name
        data[f"ns{i:03d}"] = ns
    return data


def namespace(name: str) -> Namespace:
    return Namespace.model_validate({"metadata": {"name": name}})


def _project(name: str, ns: str) -> Project:
    return Project.model_validate({"metadata": {"name": name, "namespace": ns}})


def _component(name: str, project: str) -> Component:
    spec = {"owner": {"projectName": project}, "componentType": {"name": "deployment/service"}}
    return Component.model_validate({"metadata": {"name": name}, "spec": spec})


def _workload(name: str, component: str, project: str) -> Workload:
    spec = {
        "owner": {"projectName": project, "componentName": component},
        "endpoints": {"http": {"type": "HTTP", "port": 8080}},
    }
    return Workload.model_validate({"metadata": {"name": name}, "spec": spec})


class FakeServer:
    """Pages the installation's listings; faults are chosen by a seeded RNG."""

    def __init__(
        self,
        data: Installation,
        limit: int,
        *,
        rng: random.Random | None = None,
        reject_rate: float = 0.0,
        repeat_rate: float = 0.0,
        hidden: Callable[[str], bool] = lambda _name: False,
    ) -> None:
        self.data = data
        self.limit = limit
        self.rng = rng or random.Random(0)
        self.reject_rate = reject_rate
        self.repeat_rate = repeat_rate
        self.hidden = hidden
        self.calls: dict[Kind, int] = {}
        self.rejected: dict[Kind, int] = {}

    def items(self, kind: Kind, ns: str | None) -> dict[str, Resource]:
        if kind == "namespaces":
            return {name: namespace(name) for name in self.data}
        assert ns is not None
        if ns not in self.data:
            raise NotFoundError(f"namespace {ns}: HTTP 404")
        space = self.data[ns]
        if kind == "projects":
            return {p: _project(p, ns) for p in space.projects}
        if kind == "components":
            return {c: _component(c, p) for c, p in space.components.items()}
        return {
            w: _workload(w, c, space.components.get(c, "orphan"))
            for w, c in space.workloads.items()
        }

    def fetch(self, kind: Kind, ns: str | None, cursor: str | None) -> Listing:
        self.calls[kind] = self.calls.get(kind, 0) + 1
        items = self.items(kind, ns)
        names = sorted(items)
        listing = f"{kind}/{ns}"
        offset = 0
        if cursor is not None:
            if self.rng.random() < self.reject_rate:
                self.rejected[kind] = self.rejected.get(kind, 0) + 1
                raise CursorRejectedError(f"{listing}: HTTP 500 (answering a cursor)")
            owner, _, last = cursor.partition("#")
            assert owner == listing, "cursor of another listing"
            offset = sum(1 for name in names if name <= last)
        chunk = names[offset : offset + self.limit]
        has_more = offset + self.limit < len(names)
        next_cursor = f"{listing}#{chunk[-1]}" if has_more else None
        if offset and self.rng.random() < self.repeat_rate:
            chunk = [names[offset - 1], *chunk]
        visible = [name for name in chunk if not self.hidden(name)]
        return Listing(visible, [items[name] for name in visible], next_cursor, has_more)


@dataclass
class Walked:
    """What a whole walk emitted, in order."""

    domains: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    components: dict[str, str | None] = field(default_factory=dict)
    """``ns/component`` -> the name of the workload joined to it (None: none)."""
    lookups: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    largest_cursor: int = 0


def walk_all(
    fetch: Callable[[Kind, str | None, str | None], Listing], want: int = 5, max_fetches: int = 4
) -> Walked:
    """Every batch of a walk, resuming from a JSON round trip of the cursor at each step."""
    walked = Walked()
    cursor: Any = None
    for _ in range(100_000):
        result = step(NamespaceCursor.load(cursor), fetch, want=want, max_fetches=max_fetches)
        for batch in result.batches:
            _record(walked, batch.kind, str(batch.namespace), batch.items)
        if result.cursor is None:
            return walked
        encoded = orjson.dumps(result.cursor.dump())
        walked.largest_cursor = max(walked.largest_cursor, len(encoded))
        cursor = orjson.loads(encoded)
    raise AssertionError("walk did not finish")


def _record(walked: Walked, kind: str, ns: str, items: list[Any]) -> None:
    if kind == "domains":
        walked.domains += [item.name for item in items]
        walked.order += [f"domain:{item.name}" for item in items]
    elif kind == "systems":
        walked.systems += [f"{ns}/{item.name}" for item in items]
        walked.order += [f"system:{ns}" for _ in items]
    elif kind == "components":
        for component, workload in items:
            key = f"{ns}/{component.name}"
            assert key not in walked.components and key not in walked.lookups, key
            walked.components[key] = workload.name if workload else None
            walked.order.append(f"component:{ns}")
    else:
        walked.lookups += [f"{ns}/{item.name}" for item in items]
        walked.order += [f"component:{ns}" for _ in items]


def expected_workloads(data: Installation) -> dict[str, str | None]:
    """``ns/component`` -> its first workload by name (as the reference plugin takes it)."""
    expected: dict[str, str | None] = {}
    for ns, space in data.items():
        for component in space.components:
            owned = sorted(w for w, c in space.workloads.items() if c == component)
            expected[f"{ns}/{component}"] = owned[0] if owned else None
    return expected
