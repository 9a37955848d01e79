"""The client of today's OpenChoreo API (namespace era), on the shared HTTP client.

Listings page with ``limit`` (clamped by the server to 1..100) and an opaque ``cursor``; the
next page's cursor is ``pagination.nextCursor``, absent on the last page. A ``500`` answering a
request that carried a cursor is how the server reports an expired or malformed cursor: it is
not retried, it raises :class:`CursorRejectedError` so the walk restarts that listing. Without a
cursor a 500 is retried like any transient failure. Every body is validated
(:mod:`.namespace_payloads`); a body that breaks the contract names the request and the field.
"""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from catalog_ingest.providers.openchoreo.client import (
    TRANSIENT_STATUSES,
    OpenChoreoClient,
    path_of,
    validation_message,
)
from catalog_ingest.providers.openchoreo.namespace_payloads import (
    Component,
    Item,
    ItemList,
    Namespace,
    Project,
    Workload,
)
from catalog_ingest.providers.openchoreo.upstream_errors import (
    CursorRejectedError,
    InternalServerError,
    UpstreamContractError,
)

MAX_LIMIT = 100
"""The server clamps ``limit`` to 1..100 (no 400): asking for more only misleads."""
_CURSOR_RETRIED = TRANSIENT_STATUSES - {500}

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class NamespacePage(Generic[Item]):
    """One page of a namespace-era listing."""

    items: list[Item]
    next_cursor: str | None
    remaining: int | None
    """``pagination.remainingCount``: an estimate, absent for filtered listings."""

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


class NamespaceClient:
    """Reads ``/namespaces/...`` through an :class:`OpenChoreoClient` (its HTTP and retries)."""

    def __init__(self, http: OpenChoreoClient) -> None:
        self.http = http

    def list_page(
        self,
        path: str,
        model: type[Item],
        limit: int,
        cursor: str | None,
        **filters: str,
    ) -> NamespacePage[Item]:
        """``GET path?limit=..&cursor=..``; a 500 to a cursor raises CursorRejectedError."""
        params: dict[str, str | int] = {"limit": max(1, min(limit, MAX_LIMIT)), **filters}
        if cursor:
            params["cursor"] = cursor
        try:
            body = self.http.get_json(
                path, params, retried=_CURSOR_RETRIED if cursor else TRANSIENT_STATUSES
            )
        except InternalServerError as error:
            raise CursorRejectedError(f"{error} (answering a request with a cursor)") from None
        parsed: ItemList[Item] = self._parse(path, ItemList[model], body)  # type: ignore[valid-type]
        return NamespacePage(
            list(parsed.items),
            parsed.pagination.next_cursor or None,
            parsed.pagination.remaining_count,
        )

    def namespaces(self, limit: int, cursor: str | None = None) -> NamespacePage[Namespace]:
        return self.list_page("/namespaces", Namespace, limit, cursor)

    def projects(self, ns: str, limit: int, cursor: str | None = None) -> NamespacePage[Project]:
        return self.list_page(path_of("namespaces", ns, "projects"), Project, limit, cursor)

    def components(
        self, ns: str, limit: int, cursor: str | None = None, *, project: str | None = None
    ) -> NamespacePage[Component]:
        """A namespace's components in name order (all projects, or ``project``'s only)."""
        filters = {"project": project} if project else {}
        path = path_of("namespaces", ns, "components")
        return self.list_page(path, Component, limit, cursor, **filters)

    def workloads(
        self, ns: str, limit: int, cursor: str | None = None, *, component: str | None = None
    ) -> NamespacePage[Workload]:
        """A namespace's workloads in name order (or ``component``'s only)."""
        filters = {"component": component} if component else {}
        path = path_of("namespaces", ns, "workloads")
        return self.list_page(path, Workload, limit, cursor, **filters)

    def component_workload(self, ns: str, component: str) -> Workload | None:
        """The first workload of ``component`` (by name, as the reference plugin takes it), or
        None; one request (``GET /namespaces/{ns}/workloads?component=...``)."""
        page = self.workloads(ns, MAX_LIMIT, component=component)
        owned = [w for w in page.items if w.component == component]
        return owned[0] if owned else None

    def namespace(self, ns: str) -> Namespace:
        """``GET /namespaces/{ns}``; NotFoundError when it does not exist."""
        return self._get(path_of("namespaces", ns), Namespace)

    def project(self, ns: str, name: str) -> Project:
        """``GET /namespaces/{ns}/projects/{name}``; NotFoundError when it does not exist."""
        return self._get(path_of("namespaces", ns, "projects", name), Project)

    def component(self, ns: str, name: str) -> Component:
        """``GET /namespaces/{ns}/components/{name}``; NotFoundError when it does not exist.

        The body carries no endpoints: see :meth:`component_workload` for them."""
        return self._get(path_of("namespaces", ns, "components", name), Component)

    def _get(self, path: str, model: type[Model]) -> Model:
        parsed: Model = self._parse(path, model, self.http.get_json(path, {}))
        return parsed

    @staticmethod
    def _parse(path: str, model: type[BaseModel], body: Any) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as error:
            raise UpstreamContractError(
                f"GET {path}: response breaks the OpenChoreo contract: {validation_message(error)}"
            ) from None
