"""Settings of an OpenChoreo provider (``providers[].settings``, or the ``openchoreo`` block)."""

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel


class OpenChoreoSettings(BaseModel):
    """Where the API is, how to authenticate, and how entities are named and owned."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    base_url: str = Field(description="The API's base URL, including /api/v1.")
    token: SecretStr | None = Field(None, description="Bearer token; never logged.")
    api_generation: Literal["auto", "namespaces", "orgs"] = Field(
        "auto",
        description="Which OpenChoreo API: namespaces (today's), orgs (the organization-era "
        "contract), or auto: asked at the start of each pass (GET /namespaces?limit=1).",
    )
    default_owner: str | None = Field(
        None,
        min_length=1,
        description="spec.owner of entities. Namespace era: group:default/<it>, default "
        "openchoreo-users (as the reference plugin); organization era: as is, default "
        "openchoreo.",
    )
    namespace_strategy: Literal["default", "organization"] = Field(
        "default",
        description="Organization era only. default: every entity in the 'default' namespace "
        "(clashes are reported, the first writer kept); organization: one namespace per "
        "organization.",
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="Per-request timeout.")
    retries: int = Field(3, ge=0, le=10, description="Retries of 429 / 5xx / network errors.")
    max_retry_delay_seconds: float = Field(
        30.0, ge=0, le=600, description="Cap on one retry wait, Retry-After included."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value
