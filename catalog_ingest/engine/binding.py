"""A provider together with the options and priority it is run with."""

from dataclasses import dataclass, field

from catalog_ingest.contracts.provider import Provider
from catalog_ingest.engine.options import ProviderOptions


@dataclass(frozen=True, slots=True)
class ProviderBinding:
    provider: Provider
    options: ProviderOptions = field(default_factory=ProviderOptions)
    priority: int = 0
    """Merge priority of this provider's entities against other sources of the same ref."""
    passive: bool = False
    """Written only from outside (pushed entities, events): never ticked into a pass, so it
    never sweeps; its records leave by deletion or expiry only."""

    @property
    def name(self) -> str:
        return self.provider.name
