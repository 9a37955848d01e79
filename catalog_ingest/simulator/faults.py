"""Fault injection: what can go wrong with an upstream, decided per request from a seeded RNG."""

import random
import threading
from dataclasses import dataclass, replace
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from catalog_ingest.simulator.api_errors import (
    ApiError,
    rate_limited,
    token_expired,
    unavailable,
)

Endpoint = Literal[
    "orgs",
    "projects",
    "components",
    "detail",
    "namespaces",
    "namespace",
    "ns_projects",
    "ns_project",
    "ns_components",
    "ns_component",
    "workloads",
    "workload",
]
"""Routes by name: the organization era's four, then the namespace era's (``ns_`` where a
name would clash; ``ns_component`` is ``GET /namespaces/{ns}/components/{name}``)."""
ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)
Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class FaultSettings(BaseModel):
    """Every fault is off by default; rates are fractions of API requests in [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0.0, ge=0.0)
    """Added to every API request."""
    detail_latency_ms: float = Field(default=0.0, ge=0.0)
    """Added to component detail requests only (on top of ``latency_ms``)."""
    error_rate: Rate = 0.0
    """Answered 503 SERVICE_UNAVAILABLE."""
    rate_limit_rate: Rate = 0.0
    """Answered 429 RATE_LIMITED with ``Retry-After``."""
    retry_after_seconds: int = Field(default=1, ge=0)
    timeout_rate: Rate = 0.0
    """Held for ``timeout_seconds`` before answering, so the client times out."""
    timeout_seconds: float = Field(default=30.0, gt=0.0)
    malformed_rate: Rate = 0.0
    """Answered 200 with a body that is not JSON."""
    expire_rate: Rate = 0.0
    """Requests carrying a continue token answered 410 CONTINUE_TOKEN_EXPIRED; in the namespace
    era, requests carrying a cursor answered 500 INTERNAL_ERROR (as the server does)."""
    stuck_token: bool = False
    """The ``continue`` returned is the token sent (and ``hasMore`` stays true); in the
    namespace era the ``nextCursor`` returned is the cursor sent."""
    cycle_token: bool = False
    """Continued listings alternate between two tokens: the page of token A answers B and the
    page of B answers A again (both pages served as usual), so a client that only checks that
    the token changed loops forever. Both eras; the first page of a listing is unaffected."""
    duplicate_rate: Rate = 0.0
    """Continued pages that first repeat the last visible item of the previous page."""
    unpaged: bool = False
    """Listings ignore ``limit`` / ``continue`` and answer ``{items, totalCount}`` at once, as
    servers before cursor pagination did (applies to every listing, whatever ``endpoints``);
    namespace-era listings answer every item with an empty ``pagination``."""
    endpoints: list[Endpoint] | None = None
    """Restrict the faults above to these endpoints (default: all)."""
    fail_components: list[str] = Field(default_factory=list)
    """``org/project/component`` paths whose detail GET (and namespace-era
    ``GET /namespaces/{org}/components/{component}``) always answers 503."""
    fault_seed: int = 0


@dataclass(frozen=True)
class FaultPlan:
    """What happens to one request, decided when it arrives."""

    delay_seconds: float = 0.0
    error: ApiError | None = None
    malformed: bool = False
    stuck_token: bool = False
    cycle_token: bool = False
    duplicate: bool = False


class TokenCycle:
    """The memory of the ``cycle_token`` fault: which token answers which (thread-safe)."""

    def __init__(self) -> None:
        self._partner: dict[str, str] = {}
        self._lock = threading.Lock()

    def answer(self, sent: str, fresh: str) -> str:
        """The token to answer a request that carried ``sent``: its partner once it has one,
        else ``fresh`` (the token the page would carry), which becomes its partner."""
        with self._lock:
            partner = self._partner.get(sent)
            if partner is None:
                self._partner[sent] = fresh
                self._partner[fresh] = sent
                return fresh
            return partner


class FaultInjector:
    """Holds the current settings and their RNG; replacing the settings reseeds it."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.replace(settings or FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def replace(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings
            self._failing = frozenset(settings.fail_components)
            self._rng = random.Random(settings.fault_seed)
            self.cycle = TokenCycle()

    def _hit(self, rate: float) -> bool:
        return rate > 0.0 and self._rng.random() < rate

    def plan(self, endpoint: Endpoint, has_token: bool, component: str | None = None) -> FaultPlan:
        """Draw this request's faults (``component`` is the upstream path of a detail GET)."""
        with self._lock:
            settings = self._settings
            plan = FaultPlan()
            if settings.endpoints is None or endpoint in settings.endpoints:
                plan = self._draw(settings, endpoint, has_token)
            if component is not None and component in self._failing:
                error = unavailable(f"component {component} is unavailable")
                plan = replace(plan, error=error, malformed=False)
            return plan

    def _draw(self, settings: FaultSettings, endpoint: Endpoint, has_token: bool) -> FaultPlan:
        delay = settings.latency_ms / 1000.0
        if endpoint == "detail":
            delay += settings.detail_latency_ms / 1000.0
        if self._hit(settings.timeout_rate):
            delay += settings.timeout_seconds
        return FaultPlan(
            delay_seconds=delay,
            error=self._error(settings, has_token),
            malformed=self._hit(settings.malformed_rate),
            stuck_token=settings.stuck_token and has_token,
            cycle_token=settings.cycle_token and has_token,
            duplicate=has_token and self._hit(settings.duplicate_rate),
        )

    def _error(self, settings: FaultSettings, has_token: bool) -> ApiError | None:
        if self._hit(settings.error_rate):
            return unavailable()
        if self._hit(settings.rate_limit_rate):
            return rate_limited(settings.retry_after_seconds)
        if has_token and self._hit(settings.expire_rate):
            return token_expired()
        return None
