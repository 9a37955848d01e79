"""The ``api:`` section: who may call the HTTP service, and how it applies actions."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

Scope = Literal["read", "manage", "events"]
"""``read``: status, marks, metrics and (later) the catalog; ``manage``: the actions;
``events``: the event ingress."""

SCOPES: tuple[Scope, ...] = ("read", "manage", "events")

MIN_TOKEN_LENGTH = 16
"""Shorter tokens are guessable; ``openssl rand -hex 24`` gives 48 characters."""


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class ApiToken(_Section):
    """One bearer token: a name for logs (the token itself never is), the secret, its scopes."""

    name: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$")]
    token: SecretStr
    scopes: list[Scope] = Field(min_length=1)

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        """Empty is allowed (an unset ``${VAR}``: the token is disabled), short is not."""
        if 0 < len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            # The message must not quote the token: it is a secret even when too short.
            raise ValueError(
                f"a token must be at least {MIN_TOKEN_LENGTH} characters "
                "(e.g. `openssl rand -hex 24`)"
            )
        return value


class ApiSection(_Section):
    """The HTTP service (``ingest serve``)."""

    tokens: list[ApiToken] = Field(
        default_factory=list, description="Bearer tokens and their scopes."
    )
    open_health: bool = Field(True, description="GET /health answers without a token.")
    open_metrics: bool = Field(True, description="GET /metrics answers without a token.")
    actions: Literal["auto", "enqueue", "direct"] = Field(
        "auto",
        description=(
            "How management actions apply: enqueue the admin task for the workers, or write "
            "directly (as `--direct` does); auto = direct on SQLite, enqueue otherwise."
        ),
    )
    max_event_bytes: int = Field(
        1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="Largest event body accepted."
    )

    @field_validator("tokens")
    @classmethod
    def _unique_names(cls, value: list[ApiToken]) -> list[ApiToken]:
        names = [token.name for token in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"token names must be unique: {', '.join(duplicates)}")
        return value

    def active_tokens(self) -> list[ApiToken]:
        """The tokens with a value: one whose ``${VAR}`` is unset (empty) grants nothing."""
        return [token for token in self.tokens if token.token.get_secret_value()]

    def secrets(self) -> list[str]:
        return [token.token.get_secret_value() for token in self.active_tokens()]
