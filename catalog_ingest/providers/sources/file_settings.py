"""Settings of a ``file`` source."""

from typing import Annotated

from pydantic import Field

from catalog_ingest.providers.sources.settings_base import SourceSettingsModel

DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024

PathPattern = Annotated[str, Field(min_length=1, max_length=4096)]


class FileSourceSettings(SourceSettingsModel):
    """``sources[].file`` of a ``type: file`` source."""

    paths: list[PathPattern] = Field(
        min_length=1,
        description="Files or glob patterns (`*`, `?`, `[...]`, `**` for any depth); relative "
        "ones from the process's working directory.",
    )
    max_file_bytes: int = Field(
        DEFAULT_MAX_FILE_BYTES,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="A larger file fails the refresh (nothing is dropped).",
    )
