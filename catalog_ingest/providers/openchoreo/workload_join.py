"""Joining a namespace's components with its workloads, in bounded memory and a fixed cursor.

A component's APIs (and its ``providesApis``) come from its workload, which lives in another
paged listing: ``/namespaces/{ns}/workloads``. Both listings are in name order, so the join
reads them in step (a merge join): for a page of components ``c1..cn`` it reads workloads from
where the previous page stopped, attaching each to its component (``spec.owner.componentName``)
and stopping at the first workload whose component sorts after ``cn`` (the *blocker*, left for
the next page). That is exact only when workloads come in their components' order, which a
first read of the workload listing (the *scan*, before the components) checks. The scan keeps
three facts, whatever the listing's length (:class:`WorkloadOrder`):

- ``sorted``: components never go backwards along the listing. Then the join is exact.
- ``suffix``: every workload is named ``<component><suffix>`` for one suffix (OpenChoreo names
  the workload it creates ``<component>-workload``). Then only components that are a prefix of
  a later one can be out of step (``orders-workload`` sorts after ``orders-db-workload``): a
  component whose workload would sort after the blocker may still have one, so it is *looked
  up*; every other component's workload is exactly where the join looked.
- neither: every component of the namespace is looked up.

A lookup is one ``GET /workloads?component=...``, made through the engine's detail fan-out and
its global request slots (see :mod:`.namespace_resolver`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from catalog_ingest.providers.openchoreo.listing import Listing, Position, new_items, next_page
from catalog_ingest.providers.openchoreo.namespace_payloads import Workload

FetchWorkloads = Callable[[Position], Listing | Position]
"""The workload page at a position, or the position to read from instead when the listing had
to restart (its cursor expired)."""


class WorkloadOrder(BaseModel):
    """What the scan found about a namespace's workload listing (part of the cursor)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    sorted: bool = Field(True, alias="o")
    last: str | None = Field(None, alias="l")
    """The greatest component seen so far (while ``sorted``)."""
    regular: bool = Field(True, alias="r")
    suffix: str | None = Field(None, alias="x")
    """``name == component + suffix`` for every workload so far (None: none seen yet)."""

    def seen(self, workloads: Sequence[Workload]) -> "WorkloadOrder":
        """The facts after ``workloads``, the next ones of the listing."""
        order = self.model_copy()
        for workload in workloads:
            component, name = workload.component, workload.name
            if order.sorted:
                if order.last is not None and component < order.last:
                    order.sorted = False
                order.last = component
            if order.regular:
                suffix = name[len(component) :] if name.startswith(component) else None
                if suffix is None or order.suffix not in (None, suffix):
                    order.regular = False
                else:
                    order.suffix = suffix
        if not order.sorted:
            order.last = None
        return order

    @property
    def joinable(self) -> bool:
        """Whether the join can place workloads (else every component is looked up)."""
        return self.sorted or self.regular


@dataclass(slots=True)
class JoinResult:
    """The workloads of a page of components, and the components to look up."""

    workloads: dict[str, Workload] = field(default_factory=dict)
    """Component name -> its first workload in listing order (as the reference takes it)."""
    uncertain: list[str] = field(default_factory=list)
    """Components whose workload may lie further in the listing: looked up instead."""
    position: Position = field(default_factory=Position)
    """Where the join resumes for the next page of components."""


def join(
    components: Sequence[str],
    position: Position,
    order: WorkloadOrder,
    fetch: FetchWorkloads,
    where: str,
) -> JoinResult:
    """The workloads of ``components`` (a page, in name order), read from ``position``."""
    if not order.joinable:
        return JoinResult(uncertain=list(components), position=position)
    wanted, last = set(components), components[-1]
    result = JoinResult(position=position)
    blocker: str | None = None
    while blocker is None:
        listing = fetch(result.position)
        if isinstance(listing, Position):
            result.position = listing  # restarted: read again from the top, skipping the rest
            continue
        consumed = result.position.after
        for name, workload in new_items(listing, consumed, where):
            if workload.component > last:
                blocker = name
                break
            if workload.component in wanted:
                result.workloads.setdefault(workload.component, workload)
            consumed = name
        if blocker is not None or not listing.has_more:
            result.position = result.position.at(consumed)
            break
        result.position = next_page(listing, result.position, consumed, where)
    if not order.sorted and blocker is not None:
        suffix = order.suffix or ""
        result.uncertain = [
            c for c in components if c not in result.workloads and c + suffix > blocker
        ]
    return result
