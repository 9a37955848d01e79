"""Building the providers that run the aggregator-only sources (``sources:``), by type.

Settings were validated with the configuration (``SourceConfig``); the page size of a
``file`` or ``url`` source is the ``chunk_size`` option.
"""

from collections.abc import Callable, Mapping

from catalog_ingest.app.config.schema import AppConfig, ProviderConfig
from catalog_ingest.contracts.provider import Provider
from catalog_ingest.providers.sources.file_settings import FileSourceSettings
from catalog_ingest.providers.sources.file_source import FileSourceProvider
from catalog_ingest.providers.sources.push_settings import PushSourceSettings
from catalog_ingest.providers.sources.push_source import PushSourceProvider
from catalog_ingest.providers.sources.url_settings import UrlSourceSettings
from catalog_ingest.providers.sources.url_source import UrlSourceProvider


def file_source(config: ProviderConfig) -> Provider:
    settings = FileSourceSettings.model_validate(config.settings)
    return FileSourceProvider(config.name, settings, config.options.chunk_size)


def url_source(config: ProviderConfig) -> Provider:
    settings = UrlSourceSettings.model_validate(config.settings)
    return UrlSourceProvider(config.name, settings, config.options.chunk_size)


def push_source(config: ProviderConfig) -> Provider:
    settings = PushSourceSettings.model_validate(config.settings)
    return PushSourceProvider(config.name, settings.max_entities)


def push_token(config: AppConfig, source: str) -> str | None:
    """The bearer token the HTTP service requires for pushes to ``source`` (None: unset, so
    no push over HTTP is accepted)."""
    for provider in config.all_providers():
        if provider.name == source and provider.type == "push":
            token = PushSourceSettings.model_validate(provider.settings).token
            return token.get_secret_value() if token is not None else None
    return None


SOURCE_TYPES: Mapping[str, Callable[[ProviderConfig], Provider]] = {
    "file": file_source,
    "url": url_source,
    "push": push_source,
}
