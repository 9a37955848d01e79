"""Pydantic models of the OpenChoreo API responses the provider reads (the OpenAPI contract).

Only what the provider uses is required; unknown fields are ignored so a newer server does not
break ingestion. A response that breaks the contract raises a validation error that the client
turns into a message naming the endpoint and the field.
"""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Name = str
"""An upstream resource name (a Kubernetes name, unique within its parent)."""


class _Upstream(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Named(_Upstream):
    """A listed resource: everything the walk needs is its name."""

    name: Name = Field(min_length=1)


class Organization(Named):
    display_name: str | None = None
    description: str | None = None
    namespace: str | None = None
    created_at: str | None = None
    status: str | None = None


class Project(Named):
    uid: str | None = None
    org_name: str | None = None
    display_name: str | None = None
    description: str | None = None
    deployment_pipeline: str | None = None
    created_at: str | None = None
    status: str | None = None


class Revision(_Upstream):
    branch: str | None = None
    commit: str | None = None


class Repository(_Upstream):
    url: str | None = None
    app_path: str | None = None
    revision: Revision | None = None


class SystemParameters(_Upstream):
    repository: Repository | None = None


class ComponentWorkflow(_Upstream):
    name: str | None = None
    system_parameters: SystemParameters | None = None


class EndpointSchema(_Upstream):
    type: str | None = None
    content: str | None = None


class WorkloadEndpoint(_Upstream):
    type: str = Field(min_length=1)
    port: int
    schema_: EndpointSchema | None = Field(None, alias="schema")


class Workload(_Upstream):
    name: str | None = None
    type: str | None = None
    endpoints: dict[str, WorkloadEndpoint] = Field(default_factory=dict)


class Component(Named):
    type: str = Field(min_length=1)
    uid: str | None = None
    display_name: str | None = None
    description: str | None = None
    project_name: str | None = None
    org_name: str | None = None
    created_at: str | None = None
    status: str | None = None
    component_workflow: ComponentWorkflow | None = None
    workload: Workload | None = None


class ListMetadata(_Upstream):
    resource_version: str | None = None
    continue_: str | None = Field(None, alias="continue")
    has_more: bool


Item = TypeVar("Item", bound=Named)


class ListData(_Upstream, Generic[Item]):
    items: list[Item]
    metadata: ListMetadata


class ListEnvelope(_Upstream, Generic[Item]):
    success: bool
    data: ListData[Item]


class ComponentEnvelope(_Upstream):
    success: bool
    data: Component
