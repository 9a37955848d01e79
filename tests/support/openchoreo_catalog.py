"""The OpenChoreo provider against the simulator: wiring and the catalog a pass must yield."""

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa

from catalog_ingest.contracts.provider import (
    BurstInfo,
    Entity,
    EventResult,
    Gate,
    JSONValue,
    Page,
    Resolve,
)
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.entity_preparation import entity_ref
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo.entity_provider import OpenChoreoProvider
from catalog_ingest.providers.openchoreo.payloads import Component, Organization, Project
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.providers.openchoreo.translate import Translator, is_service
from catalog_ingest.simulator.dataset import Dataset
from tests.support.engine_harness import PROVIDER, read_catalog, strip_stamps

OWNER = "platform-team"


class OnePagePerBurst:
    """The provider with every page taking a whole burst (400 s of the manual clock): each
    page's cursor is read back from the database, and a pass stays open a while."""

    def __init__(self, provider: OpenChoreoProvider, clock: ManualClock) -> None:
        self.provider = provider
        self.clock = clock

    @property
    def name(self) -> str:
        return self.provider.name

    def around(self, burst: BurstInfo) -> AbstractContextManager[Any]:
        return self.provider.around(burst)

    def resolver(self, gate: Gate) -> AbstractContextManager[Resolve]:
        return self.provider.resolver(gate)

    def next(self, context: Any, cursor: JSONValue) -> Page:
        page = self.provider.next(context, cursor)
        self.clock.advance(400)
        return page

    def supports_event_topics(self) -> Sequence[str]:
        return self.provider.supports_event_topics()

    def on_event(self, topic: str, payload: Mapping[str, Any]) -> EventResult:
        return self.provider.on_event(topic, payload)


def provider_for(
    url: str,
    *,
    token: str | None = None,
    strategy: str = "default",
    chunk_size: int = 7,
    options: dict[str, Any] | None = None,
    **settings: Any,
) -> OpenChoreoProvider:
    """An organization-era provider on the simulator at ``url``; small pages so every walk
    spans many."""
    values = {
        "base_url": f"{url}/api/v1",
        "token": token,
        "api_generation": "orgs",
        "default_owner": OWNER,
        "namespace_strategy": strategy,
        "max_retry_delay_seconds": 0.05,
        "timeout_seconds": 5,
    } | settings
    pacing = {"burst_length": 300, "chunk_size": chunk_size, "batch_delay_ms": 0}
    pacing |= {"max_concurrent_requests": 8} | (options or {})
    return OpenChoreoProvider(
        PROVIDER,
        OpenChoreoSettings.model_validate(values),
        ProviderOptions.model_validate(pacing),
    )


def _ref(entity: Entity) -> str:
    metadata = entity["metadata"]
    return entity_ref(entity["kind"], metadata["namespace"], metadata["name"])


def expected_catalog(dataset: Dataset, strategy: Any = "default") -> dict[str, Entity]:
    """What a complete pass must store: every visible item translated, in walk order, the
    first entity of a ref kept (upstream names may clash in the ``default`` namespace)."""
    translator = Translator(OWNER, strategy)
    catalog: dict[str, Entity] = {}

    def keep(entities: list[Entity]) -> None:
        for entity in entities:
            catalog.setdefault(_ref(entity), entity)

    orgs = [Organization.model_validate(org) for org in dataset.orgs()]
    keep([translator.domain(org) for org in orgs])
    for org in orgs:
        keep(
            [
                translator.system(Project.model_validate(p), org.name)
                for p in dataset.projects(org.name)
            ]
        )
    for org in orgs:
        for project in dataset.projects(org.name):
            built: list[Entity] = []
            for record in dataset.components(org.name, project["name"]):
                component = Component.model_validate(record)
                detail = None
                if is_service(component):
                    detail = Component.model_validate(
                        dataset.component_detail(
                            org.name, project["name"], component.name, include_workload=True
                        )
                    )
                built += translator.component(component, org.name, project["name"], detail)
            keep(built)
    return catalog


def stored_catalog(db: sa.Engine, provider: str = PROVIDER) -> dict[str, Entity]:
    """The merged catalog, without the location annotations the engine stamps."""
    return {ref: strip_stamps(body, provider) for ref, body in read_catalog(db).items()}
