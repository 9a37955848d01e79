"""Load accounting of API requests (control requests are not counted); exact under concurrency."""

import threading
from collections import Counter
from typing import Any

from catalog_ingest.simulator.faults import ENDPOINTS, Endpoint


class RequestStats:
    """Counts requests per endpoint and status, and the peak number in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[Endpoint] = Counter()
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._requests = 0
        self._by_endpoint: Counter[Endpoint] = Counter()
        self._by_status: Counter[int] = Counter()
        # A reset while requests run keeps the current level as the new peak.
        self._max_in_flight = sum(self._in_flight.values())
        self._max_by_endpoint: Counter[Endpoint] = Counter(self._in_flight)

    def begin(self, endpoint: Endpoint) -> None:
        with self._lock:
            self._requests += 1
            self._by_endpoint[endpoint] += 1
            self._in_flight[endpoint] += 1
            total = sum(self._in_flight.values())
            self._max_in_flight = max(self._max_in_flight, total)
            peak = max(self._max_by_endpoint[endpoint], self._in_flight[endpoint])
            self._max_by_endpoint[endpoint] = peak

    def end(self, endpoint: Endpoint, status: int | None) -> None:
        """``status`` is None when no response was produced (the request was cancelled)."""
        with self._lock:
            self._in_flight[endpoint] -= 1
            if status is not None:
                self._by_status[status] += 1

    def reset(self) -> None:
        with self._lock:
            self._reset_counters()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "by_endpoint": {name: self._by_endpoint[name] for name in ENDPOINTS},
                "by_status": {str(code): n for code, n in sorted(self._by_status.items())},
                "in_flight": sum(self._in_flight.values()),
                "max_in_flight": self._max_in_flight,
                "max_in_flight_by_endpoint": {
                    name: self._max_by_endpoint[name] for name in ENDPOINTS
                },
            }
