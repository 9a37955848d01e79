"""What every source's settings model shares: snake_case or camelCase keys, unknown keys
rejected, immutable, and the secrets it holds (for the redactor)."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class SourceSettingsModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def secrets(self) -> list[str]:
        """Values that must never be shown (logs, errors, status); none by default."""
        return []
