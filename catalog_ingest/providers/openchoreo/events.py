"""OpenChoreo events (topic ``openchoreo``) as deltas, for both API generations.

The payload is what OpenChoreo's event forwarder posts and the official Backstage plugin
receives: ``{kind, name, namespace, action}``, ``kind`` a resource kind (``namespace``,
``project``, ``component``, ``workload``...). The handler does not trust ``action``: a delivery
can come late or out of order (one retried while a burst held the lock), so it asks upstream
for the resource's current state, and a 404 is what a deletion looks like. Entities are
translated exactly as the walk translates them; a component's delta also replaces the APIs it
provided, so a deleted component takes its APIs along and a changed one drops the endpoints it
lost. Each generation's reads are in :mod:`.namespace_events` and :mod:`.org_events`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from catalog_ingest.contracts.provider import IGNORED, EventResult
from catalog_ingest.providers.openchoreo import namespace_events, org_events
from catalog_ingest.providers.openchoreo.client import OpenChoreoClient
from catalog_ingest.providers.openchoreo.event_payload import ACTIONS, parse_event
from catalog_ingest.providers.openchoreo.generation import Generation
from catalog_ingest.providers.openchoreo.namespace_translate import NamespaceTranslator
from catalog_ingest.providers.openchoreo.translate import Translator

TOPIC = "openchoreo"


@dataclass(frozen=True, slots=True)
class Translators:
    """The provider's translator of each generation."""

    orgs: Translator
    namespaces: NamespaceTranslator


def on_event(
    client: OpenChoreoClient,
    generation: Callable[[], Generation],
    translators: Translators,
    payload: Mapping[str, Any],
) -> EventResult:
    """The delta of the resource the event names; ``"ignored"`` for other kinds and actions.

    ``generation`` is asked only for an event that needs upstream (it may probe the server).
    """
    event = parse_event(payload)
    if event.action not in ACTIONS or event.kind not in namespace_events.KINDS | org_events.KINDS:
        return IGNORED
    if generation() == "namespaces":
        return namespace_events.on_event(client, translators.namespaces, event)
    return org_events.on_event(client, translators.orgs, event)
