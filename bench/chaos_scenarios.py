"""The upstream fault matrix of ``bench/chaos.py``: what each fault pass turns on.

Rates are fractions of requests (``catalog_ingest.simulator.faults.FaultSettings``); the
provider retries 429, 5xx and timeouts (``retries: 3``), restarts a listing whose continue
token expired, and emits a service whose detail call keeps failing from its listing (a
*fallback*: its previous APIs are kept). A ``blocking`` case cannot let a pass complete while
it is on (a stuck continue token): the suite waits for the pass to report the error, then
turns it off and lets the pass finish.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FaultCase:
    name: str
    what: str
    settings: dict[str, Any] = field(default_factory=dict)
    failing_components: int = 0
    """Service components whose detail call always answers 503 (``fail_components``)."""
    blocking: bool = False


FAULT_MATRIX: tuple[FaultCase, ...] = (
    FaultCase("5xx", "15% of requests answer 503", {"error_rate": 0.15}),
    FaultCase("429", "15% answer 429, Retry-After 1 s", {"rate_limit_rate": 0.15}),
    FaultCase(
        "timeouts",
        "5% of requests hang past the client's timeout",
        {"timeout_rate": 0.05, "timeout_seconds": 1.5},
    ),
    FaultCase("malformed", "10% answer 200 with a body that is not JSON", {"malformed_rate": 0.1}),
    FaultCase(
        "detail-5xx", "30% of detail calls answer 503", {"error_rate": 0.3, "endpoints": ["detail"]}
    ),
    FaultCase(
        "detail-malformed",
        "15% of detail calls are malformed",
        {"malformed_rate": 0.15, "endpoints": ["detail"]},
    ),
    FaultCase("expiring-tokens", "20% of continued listings: token expired", {"expire_rate": 0.2}),
    FaultCase(
        "stuck-token",
        "component listings answer the token they were sent",
        {"stuck_token": True, "endpoints": ["components"]},
        blocking=True,
    ),
    FaultCase("fail-components", "3 services' detail calls always fail", failing_components=3),
    FaultCase(
        "mixed",
        "5% each of 503, 429, malformed, expired tokens; 2% timeouts; 1 failing service",
        {
            "error_rate": 0.05,
            "rate_limit_rate": 0.05,
            "malformed_rate": 0.05,
            "expire_rate": 0.05,
            "timeout_rate": 0.02,
            "timeout_seconds": 1.5,
        },
        failing_components=1,
    ),
)

QUICK_MATRIX: tuple[FaultCase, ...] = tuple(case for case in FAULT_MATRIX if case.name == "mixed")
"""For the smoke test: every partial fault at once, in one pass."""
