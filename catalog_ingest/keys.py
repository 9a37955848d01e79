"""Every Redis key this project uses, in one place."""

PREFIX = "catalog-ingest"


def provider_lock(provider: str) -> str:
    """The lock that makes one ingestion step per provider active at a time."""
    return f"{PREFIX}:lock:{provider}"
