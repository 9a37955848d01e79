"""The OpenChoreo incremental provider: the walks, the clients and the translators together.

It ingests both API generations (see :mod:`.generation`): today's namespace era
(:mod:`.namespace_pages`) and the organization era (:mod:`.org_pages`). ``apiGeneration: auto``
asks the server at the start of each pass; the answer is kept in the cursor for the pass.
"""

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from catalog_ingest.contracts.provider import (
    BurstInfo,
    EventResult,
    Gate,
    JSONValue,
    Page,
    Resolution,
    Resolve,
)
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo import events
from catalog_ingest.providers.openchoreo.client import OpenChoreoClient, RetryPolicy
from catalog_ingest.providers.openchoreo.generation import (
    Generation,
    PaginationUnsupportedError,
    check_pagination,
    cursor_generation,
    detect_generation,
)
from catalog_ingest.providers.openchoreo.namespace_client import NamespaceClient
from catalog_ingest.providers.openchoreo.namespace_pages import (
    NamespaceReader,
    describe_namespace_cursor,
    namespace_page,
)
from catalog_ingest.providers.openchoreo.namespace_resolver import is_lookup, resolve_lookup
from catalog_ingest.providers.openchoreo.namespace_translate import (
    NamespaceTranslator,
    namespace_origin,
    owner_ref,
)
from catalog_ingest.providers.openchoreo.org_pages import OrgReader, describe_org_cursor, org_page
from catalog_ingest.providers.openchoreo.resolver import resolve_service
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings
from catalog_ingest.providers.openchoreo.translate import Translator, origin_of

__all__ = ["BurstContext", "OpenChoreoProvider", "PaginationUnsupportedError", "check_pagination"]

log = structlog.get_logger(__name__)

ORG_ERA_OWNER = "openchoreo"
"""``spec.owner`` of organization-era entities when ``defaultOwner`` is not set."""


@dataclass
class BurstContext:
    """What one burst holds: the client, and a reader (with its page cache) per generation."""

    client: OpenChoreoClient
    chunk_size: int
    _readers: dict[str, Any] = field(default_factory=dict)

    @property
    def orgs(self) -> OrgReader:
        if "orgs" not in self._readers:
            self._readers["orgs"] = OrgReader(self.client, self.chunk_size)
        reader: OrgReader = self._readers["orgs"]
        return reader

    @property
    def namespaces(self) -> NamespaceReader:
        if "namespaces" not in self._readers:
            client = NamespaceClient(self.client)
            self._readers["namespaces"] = NamespaceReader(client, self.chunk_size)
        reader: NamespaceReader = self._readers["namespaces"]
        return reader


class OpenChoreoProvider:
    """Walks an OpenChoreo installation; one instance per configured provider."""

    def __init__(
        self,
        name: str,
        settings: OpenChoreoSettings,
        options: ProviderOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._name = name
        self.settings = settings
        self.options = options
        self._transport = transport
        self._sleep = sleep
        self._pagination_checked = False
        self.detected: Generation | None = None
        """The generation the last probe found (``apiGeneration: auto``)."""
        owner = settings.default_owner or ORG_ERA_OWNER
        self.translator = Translator(owner, settings.namespace_strategy)
        self.namespace_translator = NamespaceTranslator(owner_ref(settings.default_owner))

    @property
    def name(self) -> str:
        return self._name

    def _client(self, gate: Gate | None = None) -> OpenChoreoClient:
        token = self.settings.token.get_secret_value() if self.settings.token else None
        return OpenChoreoClient(
            self.settings.base_url,
            token,
            timeout=self.settings.timeout_seconds,
            retry=RetryPolicy(self.settings.retries, self.settings.max_retry_delay_seconds),
            transport=self._transport,
            sleep=self._sleep,
            gate=gate,
        )

    @contextmanager
    def around(self, burst: BurstInfo) -> Iterator[BurstContext]:
        client = self._client()
        try:
            if self.settings.api_generation == "orgs" and not self._pagination_checked:
                check_pagination(client)
                self._pagination_checked = True
            yield BurstContext(client, self.options.chunk_size)
        finally:
            client.close()

    @contextmanager
    def resolver(self, gate: Gate) -> Iterator[Resolve]:
        """Resolve deferred items, every attempt through ``gate``: an organization-era
        service's detail call, or a namespace-era component's workload lookup."""
        client = self._client(gate)
        namespaces = NamespaceClient(client)

        def resolve(payload: JSONValue) -> Resolution:
            if is_lookup(payload):
                return resolve_lookup(namespaces, self.namespace_translator, payload)
            return resolve_service(client, self.translator, payload)

        try:
            yield resolve
        finally:
            client.close()

    def next(self, context: BurstContext, cursor: JSONValue) -> Page:
        if self._generation_of(context.client, cursor) == "namespaces":
            return namespace_page(context.namespaces, self.namespace_translator, cursor)
        return org_page(context.orgs, self.translator, cursor)

    def generation(self, client: OpenChoreoClient) -> Generation:
        """The generation to speak: the setting, or (``auto``) what the server answers to
        :func:`~.generation.detect_generation`, asked once and remembered by this instance
        (event handlers use this; a pass asks again at its start)."""
        setting = self.settings.api_generation
        if setting != "auto":
            return setting
        if self.detected is None:
            self._detect(client)
        assert self.detected is not None
        return self.detected

    def _generation_of(self, client: OpenChoreoClient, cursor: JSONValue) -> Generation:
        """A pass keeps the generation it started with (it is in the cursor); ``auto`` asks
        the server at the start of each pass."""
        if cursor is not None:
            return cursor_generation(cursor)
        if self.settings.api_generation == "auto":
            return self._detect(client)
        return self.settings.api_generation

    def _detect(self, client: OpenChoreoClient) -> Generation:
        generation = detect_generation(client)
        log.info("OpenChoreo API generation detected", provider=self.name, api=generation)
        self.detected = generation
        return generation

    def describe_cursor(self, cursor: JSONValue) -> dict[str, str]:
        """``ingest status``'s view of a stored cursor: the API generation and the listing."""
        generation = cursor_generation(cursor)
        try:
            if generation == "namespaces":
                return {"api": "namespaces", "walking": describe_namespace_cursor(cursor)}
            return {"api": "orgs", "walking": describe_org_cursor(cursor)}
        except ValueError:
            return {}

    def origin_of(self, entity: Mapping[str, Any]) -> str:
        annotations = entity.get("metadata", {}).get("annotations", {})
        if "openchoreo.io/organization" in annotations:
            return origin_of(entity)
        return namespace_origin(entity)

    def supports_event_topics(self) -> Sequence[str]:
        return [events.TOPIC]

    def on_event(self, topic: str, payload: Mapping[str, Any]) -> EventResult:
        """The delta of the resource an OpenChoreo event names (see :mod:`.events`)."""
        client = self._client()
        translators = events.Translators(self.translator, self.namespace_translator)
        try:
            return events.on_event(client, lambda: self.generation(client), translators, payload)
        finally:
            client.close()
