"""Settings of a ``url`` source: the documents' URLs and how to fetch them."""

from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, Field

from catalog_ingest.engine.redaction import is_secret_key, url_passwords
from catalog_ingest.providers.sources.settings_base import SourceSettingsModel

DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"not a usable URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("port must be in 1-65535")
    return value


DocumentUrl = Annotated[str, Field(min_length=1, max_length=8192), AfterValidator(_http_url)]


class UrlSourceSettings(SourceSettingsModel):
    """``settings`` of a ``type: url`` source."""

    urls: list[DocumentUrl] = Field(
        min_length=1, description="Entity documents (YAML or JSON), fetched in this order."
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Sent with every request (e.g. Authorization); every value is a secret.",
    )
    timeout_seconds: float = Field(30, gt=0, le=600, description="Per request.")
    max_document_bytes: int = Field(
        DEFAULT_MAX_DOCUMENT_BYTES,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="A larger response fails the refresh (nothing is dropped).",
    )

    def secrets(self) -> list[str]:
        """Header values (and their credentials without the scheme: ``Bearer x`` -> ``x``),
        URL passwords and secret-looking query parameters (``?token=``)."""
        found = list(self.headers.values())
        found.extend(value.split()[-1] for value in self.headers.values() if " " in value)
        for url in self.urls:
            found.extend(url_passwords(url))
            query = urlsplit(url).query
            found.extend(value for key, value in parse_qsl(query) if is_secret_key(key))
        return [secret for secret in found if secret]
