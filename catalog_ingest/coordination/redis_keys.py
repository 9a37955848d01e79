"""Every Redis key this project uses, in one place."""

PREFIX = "catalog-ingest"


def provider_lock(provider: str) -> str:
    """The lock that makes one ingestion step per provider active at a time."""
    return f"{PREFIX}:lock:{provider}"


def request_slots(provider: str) -> str:
    """The sorted set of a provider's upstream request slots (slot -> when it is free)."""
    return f"{PREFIX}:slots:{provider}"


def request_slots_handed_back(provider: str) -> str:
    """Notices of slots handed back, one per hand-back, for waiters blocked on the list."""
    return f"{PREFIX}:slots:{provider}:handed-back"


def request_slot_holders(provider: str) -> str:
    """Which token holds each slot, so only the holder can hand its slot back."""
    return f"{PREFIX}:slots:{provider}:holders"
