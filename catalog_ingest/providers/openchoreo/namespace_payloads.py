"""Pydantic models of today's OpenChoreo API (namespace era): Kubernetes-shaped resources.

``../shared/reference/openchoreo-api-namespaces.yaml``: resources are ``{metadata, spec,
status}``, lists ``{items, pagination: {nextCursor, remainingCount}}``. What the spec requires is
required here, plus what the provider cannot do without (a component's project and type, a
workload's owner); unknown fields are ignored so a newer server does not break ingestion.
"""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DISPLAY_NAME = "openchoreo.dev/display-name"
DESCRIPTION = "openchoreo.dev/description"


class _Upstream(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class ObjectMeta(_Upstream):
    name: str = Field(min_length=1)
    namespace: str | None = None
    uid: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None


class Condition(_Upstream):
    type: str
    status: str


class Resource(_Upstream):
    """Anything with Kubernetes metadata; the walk needs only its name."""

    metadata: ObjectMeta

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def display_name(self) -> str | None:
        return self.metadata.annotations.get(DISPLAY_NAME) or None

    @property
    def description(self) -> str | None:
        return self.metadata.annotations.get(DESCRIPTION) or None


class ConditionsStatus(_Upstream):
    conditions: list[Condition] = Field(default_factory=list)

    @property
    def ready(self) -> bool:
        """A ``Ready`` condition with status ``True`` (what the reference plugin checks)."""
        return any(c.type == "Ready" and c.status == "True" for c in self.conditions)


class NamespaceStatus(_Upstream):
    phase: str | None = None


class Namespace(Resource):
    status: NamespaceStatus | None = None


class Project(Resource):
    status: ConditionsStatus | None = None


class ComponentOwner(_Upstream):
    project_name: str = Field(min_length=1)


class ComponentTypeRef(_Upstream):
    kind: str | None = None
    name: str = Field(min_length=1)


class ComponentWorkflow(_Upstream):
    kind: str | None = None
    name: str | None = None
    parameters: dict[str, object] = Field(default_factory=dict)


class ComponentSpec(_Upstream):
    owner: ComponentOwner
    component_type: ComponentTypeRef
    workflow: ComponentWorkflow | None = None


class Component(Resource):
    spec: ComponentSpec
    status: ConditionsStatus | None = None

    @property
    def project(self) -> str:
        return self.spec.owner.project_name

    @property
    def type(self) -> str:
        """``{workloadType}/{componentTypeName}``, e.g. ``deployment/service``."""
        return self.spec.component_type.name

    @property
    def ready(self) -> bool:
        return self.status.ready if self.status else False


class EndpointSchema(_Upstream):
    type: str | None = None
    content: str | None = None


class WorkloadEndpoint(_Upstream):
    type: str = Field(min_length=1)
    port: int
    visibility: list[str] = Field(default_factory=list)
    schema_: EndpointSchema | None = Field(None, alias="schema")


class WorkloadOwner(_Upstream):
    project_name: str = Field(min_length=1)
    component_name: str = Field(min_length=1)


class WorkloadSpec(_Upstream):
    owner: WorkloadOwner
    endpoints: dict[str, WorkloadEndpoint] = Field(default_factory=dict)


class Workload(Resource):
    spec: WorkloadSpec

    @property
    def component(self) -> str:
        return self.spec.owner.component_name


class Pagination(_Upstream):
    next_cursor: str | None = None
    remaining_count: int | None = None


Item = TypeVar("Item", bound=Resource)


class ItemList(_Upstream, Generic[Item]):
    items: list[Item]
    pagination: Pagination
