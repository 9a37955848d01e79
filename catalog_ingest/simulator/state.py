"""What a running simulator holds: its configuration, dataset, faults, tokens and counters."""

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from starlette.requests import Request

from catalog_ingest.simulator.api_errors import unauthorized
from catalog_ingest.simulator.dataset import Dataset
from catalog_ingest.simulator.faults import FaultInjector, FaultSettings
from catalog_ingest.simulator.namespace_views import WorkloadIndex
from catalog_ingest.simulator.stats import RequestStats
from catalog_ingest.simulator.tokens import ContinueTokens

ApiGeneration = Literal["namespaces", "orgs", "both"]
API_GENERATIONS: tuple[ApiGeneration, ...] = get_args(ApiGeneration)


@dataclass(frozen=True)
class SimulatorConfig:
    """Server settings that are not faults; faults can also be replaced at runtime."""

    token: str | None = field(default=None, repr=False)
    """When set, every request but ``/health`` needs ``Authorization: Bearer <token>``."""
    token_ttl_seconds: float | None = None
    token_max_uses: int | None = None
    faults: FaultSettings = field(default_factory=FaultSettings)
    token_secret: bytes | None = field(default=None, repr=False)
    """Key signing continue tokens; random per simulator when None."""
    clock: Callable[[], float] = time.time
    api: ApiGeneration = "both"
    """Which contract is served: the namespace era (``/namespaces...``, today's OpenChoreo),
    the organization era (``/orgs...``) or both, from the same dataset."""

    def __post_init__(self) -> None:
        if self.api not in API_GENERATIONS:
            choices = ", ".join(API_GENERATIONS)
            raise ValueError(f"api must be one of {choices}, got {self.api!r}")
        if self.token_ttl_seconds is not None and self.token_ttl_seconds <= 0:
            raise ValueError(f"token TTL must be > 0 seconds, got {self.token_ttl_seconds}")
        if self.token_max_uses is not None and self.token_max_uses < 1:
            raise ValueError(f"token max uses must be >= 1, got {self.token_max_uses}")
        if self.token is not None and not self.token.strip():
            raise ValueError("the bearer token must not be blank")


class Simulator:
    """Shared by the API and control routes of one app (``app.state.simulator``)."""

    def __init__(self, dataset: Dataset, config: SimulatorConfig) -> None:
        self.dataset = dataset
        self.config = config
        self.faults = FaultInjector(config.faults)
        self.stats = RequestStats()
        self.workloads = WorkloadIndex(dataset)
        self.tokens = ContinueTokens(
            secret=config.token_secret,
            ttl_seconds=config.token_ttl_seconds,
            max_uses=config.token_max_uses,
            clock=config.clock,
        )

    def require_auth(self, request: Request) -> None:
        """Raise 401 unless the request carries the configured bearer token."""
        expected = self.config.token
        if expected is None:
            return
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), expected.encode()
        )
        if not valid:
            raise unauthorized()
