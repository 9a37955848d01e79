"""The payload of an OpenChoreo event: ``{kind, name, namespace, action}``, validated."""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from catalog_ingest.contracts.errors import InvalidEventError
from catalog_ingest.providers.openchoreo.client import validation_message

ACTIONS = frozenset({"created", "updated", "deleted"})
"""Actions the event forwarder sends; any other is ignored."""


class OpenChoreoEvent(BaseModel):
    """An event's payload; extra keys are ignored, kind and action compared lower-cased."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)
    namespace: str | None = None
    action: str = Field(min_length=1)
    project: str | None = None
    """Organization era only (not in the forwarder's payload): a component's project, which
    saves looking for the component in every project of its organization."""

    @field_validator("kind", "action")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


def parse_event(payload: Mapping[str, Any]) -> OpenChoreoEvent:
    """The payload as an event; :class:`InvalidEventError` naming the fields otherwise."""
    try:
        return OpenChoreoEvent.model_validate(payload)
    except ValidationError as error:
        raise InvalidEventError(f"openchoreo event: {validation_message(error)}") from None
