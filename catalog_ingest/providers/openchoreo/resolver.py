"""Resolving a deferred service: its detail call (``include=workload``) and its entities.

Services need one more call each for their workload endpoints and repository. The provider
defers them (see :class:`catalog_ingest.contracts.provider.Deferred`); the engine resolves
them in child
tasks or inline, and every call goes through the gate (a global request slot). A call that
keeps failing leaves the component without its detail: it is built from its listing, keeps
the APIs it provided before (see :mod:`.fallback`), and the reason is returned as the fallback;
a component deleted in between is dropped.
"""

from collections.abc import Mapping

import structlog
from pydantic import ValidationError

from catalog_ingest.contracts.provider import Deferred, JSONValue, Resolution
from catalog_ingest.providers.openchoreo.client import OpenChoreoClient
from catalog_ingest.providers.openchoreo.fallback import fallback_resolution
from catalog_ingest.providers.openchoreo.payloads import Component
from catalog_ingest.providers.openchoreo.translate import Translator
from catalog_ingest.providers.openchoreo.upstream_errors import NotFoundError, UpstreamError

log = structlog.get_logger(__name__)


def defer_service(org: str, project: str, listed: Component) -> Deferred:
    """A service's detail call as a deferred item (its listing travels with it)."""
    return Deferred(
        key=f"{org}/{project}/{listed.name}",
        payload={
            "org": org,
            "project": project,
            "component": listed.model_dump(mode="json", by_alias=True, exclude_none=True),
        },
        labels={"organization": org, "project": project, "component": listed.name},
    )


def _parse(payload: JSONValue) -> tuple[str, str, Component]:
    if not isinstance(payload, Mapping):
        raise ValueError(f"not a deferred OpenChoreo service: {str(payload)[:200]}")
    try:
        component = Component.model_validate(payload["component"])
        return str(payload["org"]), str(payload["project"]), component
    except (KeyError, ValidationError) as error:
        raise ValueError(f"not a deferred OpenChoreo service: {error}") from None


def resolve_service(
    client: OpenChoreoClient, translator: Translator, payload: JSONValue
) -> Resolution:
    org, project, listed = _parse(payload)
    path = f"{org}/{project}/{listed.name}"
    try:
        detail = client.component(org, project, listed.name)
    except NotFoundError:
        log.info("component vanished before its detail call", component=path)
        return Resolution()
    except UpstreamError as error:
        log.warning(
            "component detail failed; emitted from its listing, keeping its previous APIs",
            component=path,
            reason=str(error),
        )
        return fallback_resolution(translator.component(listed, org, project), str(error))
    return Resolution(translator.component(listed, org, project, detail))
