"""Keys of the official Backstage plugin's ``openchoreo:`` block that mean nothing here.

Today's plugin (openchoreo/backstage-plugins: ``plugins/openchoreo-common/config.d.ts``,
``app-config.production.yaml``) reads ``baseUrl``, ``token``, ``defaultOwner`` (used here too),
OAuth2 client credentials under ``auth``, a ``schedule`` for its full sync, and settings of other
modules. The block is accepted verbatim: these keys are dropped before validation and reported
as warnings (:mod:`.warnings`); any other unknown key stays an error.
"""

from collections.abc import Mapping
from typing import Any

from pydantic.alias_generators import to_snake

REFERENCE_ONLY_KEYS: Mapping[str, str] = {
    "auth": "ignored: OAuth2 client credentials are not supported here; give a bearer token in "
    "openchoreo.token",
    "schedule": "ignored: passes are paced by openchoreo.incremental (burstLength, "
    "burstInterval, restLength)",
    "events": "ignored: events reach this ingester through `ingest event` (the ingest.event task)",
    "namespace": "ignored: a setting of the plugins' generic workflows, not of ingestion",
    "features": "ignored: feature flags of the Backstage UI",
    "componentTypes": "ignored: page variants of the Backstage UI",
    "portalAssistantUrl": "ignored: a setting of the portal assistant plugin",
}
"""Keys of the official plugin's ``openchoreo:`` block that this ingester accepts and ignores
(camelCase as the plugin spells them; snake_case is accepted too)."""


def reference_only(key: object) -> str | None:
    """The warning of a reference-only key of the ``openchoreo:`` block, or None."""
    if not isinstance(key, str):
        return None
    for name, message in REFERENCE_ONLY_KEYS.items():
        if key in (name, to_snake(name)):
            return message
    return None


def without_reference_only_keys(block: Any) -> Any:
    """The block without the keys :func:`reference_only` knows (other values unchanged)."""
    if not isinstance(block, Mapping):
        return block
    return {key: value for key, value in block.items() if reference_only(key) is None}
