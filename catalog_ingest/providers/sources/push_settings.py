"""Settings of a ``push`` source."""

from pydantic import Field, SecretStr

from catalog_ingest.providers.sources.settings_base import SourceSettingsModel

DEFAULT_MAX_PUSH_ENTITIES = 10_000


class PushSourceSettings(SourceSettingsModel):
    """``settings`` of a ``type: push`` source."""

    token: SecretStr | None = Field(
        None,
        description="The bearer token the HTTP service requires for pushes to this source "
        "(scoped to it); the command line needs none.",
    )
    max_entities: int = Field(
        DEFAULT_MAX_PUSH_ENTITIES, ge=1, le=1_000_000, description="Entities in one push."
    )

    def secrets(self) -> list[str]:
        return [self.token.get_secret_value()] if self.token is not None else []
