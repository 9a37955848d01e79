"""A small synchronous OpenChoreo API client: paged listings, one detail call, retries.

Transient failures (429, 5xx, timeouts, connection errors) are retried a few times with full
jitter, honouring ``Retry-After``; after that they surface as :class:`TransientUpstreamError`,
which the engine turns into its backoff. Everything else is classified for the walk: 410
(continue token expired), 404 (parent vanished), and contract violations.
"""

import random
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Generic
from urllib.parse import quote

import httpx
import orjson
import structlog
from pydantic import BaseModel, ValidationError

from catalog_ingest.contracts.provider import Gate
from catalog_ingest.providers.openchoreo.payloads import (
    Component,
    ComponentEnvelope,
    Item,
    ListEnvelope,
)
from catalog_ingest.providers.openchoreo.upstream_errors import (
    ContinueTokenExpiredError,
    InternalServerError,
    NotFoundError,
    TransientUpstreamError,
    UpstreamContractError,
    UpstreamError,
)

log = structlog.get_logger(__name__)

MAX_LIMIT = 512
"""The server clamps ``limit`` to this; asking for more is pointless."""
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
FIRST_RETRY_DELAY = 0.5


@dataclass(frozen=True, slots=True)
class ListPage(Generic[Item]):
    """One page of a listing."""

    items: list[Item]
    continue_token: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3
    max_delay: float = 30.0
    """Cap on one wait, including a server's Retry-After."""


def path_of(*segments: str) -> str:
    """``/orgs/{org}/projects...`` with every name percent-encoded."""
    return "".join(f"/{quote(segment, safe='')}" for segment in segments)


def validation_message(error: ValidationError) -> str:
    problems = []
    for detail in error.errors()[:3]:
        where = ".".join(str(part) for part in detail["loc"]) or "body"
        problems.append(f"{where}: {detail['msg']}")
    more = f" (and {error.error_count() - 3} more)" if error.error_count() > 3 else ""
    return "; ".join(problems) + more


class OpenChoreoClient:
    """Talks to one OpenChoreo API (``base_url`` ends with the ``/api/v1`` server path)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        gate: Gate | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "catalog-ingest"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._gate = gate
        """Taken around each attempt of a detail call (a global request slot)."""

    def close(self) -> None:
        self._http.close()

    def list_page(
        self, path: str, model: type[Item], limit: int, token: str | None
    ) -> ListPage[Item]:
        """``GET path?limit=..&continue=..``; raises 410/404 as their own errors."""
        params: dict[str, str | int] = {"limit": min(limit, MAX_LIMIT)}
        if token:
            params["continue"] = token
        body = self._get_json(path, params)
        envelope = self._parse(path, ListEnvelope[model], body)  # type: ignore[valid-type]
        data = envelope.data
        next_token = data.metadata.continue_ or None
        if data.metadata.has_more and next_token is None:
            raise UpstreamContractError(
                f"GET {path}: data.metadata.hasMore is true but data.metadata.continue is empty"
            )
        return ListPage(list(data.items), next_token, data.metadata.has_more)

    def raw_list(self, path: str, limit: int) -> Any:
        """The decoded body of one listing page, unvalidated (the pagination probe)."""
        return self._get_json(path, {"limit": limit})

    def component(self, org: str, project: str, name: str) -> Component:
        """The component's detail, with its workload (``include=workload``)."""
        path = path_of("orgs", org, "projects", project, "components", name)
        body = self._get_json(path, {"include": "workload"}, self._gate)
        envelope: ComponentEnvelope = self._parse(path, ComponentEnvelope, body)
        return envelope.data

    def _parse(self, path: str, model: type[BaseModel], body: Any) -> Any:
        try:
            parsed = model.model_validate(body)
        except ValidationError as error:
            raise UpstreamContractError(
                f"GET {path}: response breaks the OpenChoreo contract: {validation_message(error)}"
            ) from None
        if not getattr(parsed, "success", False):
            raise UpstreamContractError(f"GET {path}: 200 response with success=false")
        return parsed

    def _get_json(
        self, path: str, params: Mapping[str, str | int], gate: Gate | None = None
    ) -> Any:
        return self.get_json(path, params, gate=gate)

    def get_json(
        self,
        path: str,
        params: Mapping[str, str | int],
        *,
        gate: Gate | None = None,
        retried: frozenset[int] = TRANSIENT_STATUSES,
    ) -> Any:
        """The decoded body of ``GET path``: network errors and the ``retried`` statuses are
        retried (jitter, ``Retry-After``), then raise :class:`TransientUpstreamError`; 404,
        410 and an unretried 500 raise their own errors, any other non-200 an UpstreamError.
        ``gate`` is taken around each attempt (a global request slot)."""
        attempt = 0
        while True:
            try:
                with gate() if gate is not None else nullcontext():
                    response = self._http.get(path, params=params)
            except httpx.TransportError as error:
                failure = f"GET {path}: {type(error).__name__}: {error or 'no response'}"
                self._wait_or_give_up(attempt, failure, None)
                attempt += 1
                continue
            if response.status_code in retried:
                failure = f"GET {path}: HTTP {response.status_code}{_error_detail(response)}"
                self._wait_or_give_up(attempt, failure, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return _decode(path, response)

    def _wait_or_give_up(self, attempt: int, failure: str, retry_after: str | None) -> None:
        if attempt >= self._retry.retries:
            raise TransientUpstreamError(f"{failure} (after {attempt + 1} attempts)")
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = self._rng.uniform(0, FIRST_RETRY_DELAY * 2**attempt)
        delay = min(delay, self._retry.max_delay)
        log.info("retrying OpenChoreo request", failure=failure, delay=round(delay, 3))
        self._sleep(delay)


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_detail(response: httpx.Response) -> str:
    """`` (CODE: message)`` from an OpenChoreo error body, when there is one."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    code, message = body.get("code"), body.get("error")
    parts = [str(part)[:200] for part in (code, message) if part]
    return f" ({': '.join(parts)})" if parts else ""


def _decode(path: str, response: httpx.Response) -> Any:
    status = response.status_code
    if status == 410:
        raise ContinueTokenExpiredError(f"GET {path}: HTTP 410{_error_detail(response)}")
    if status == 404:
        raise NotFoundError(f"GET {path}: HTTP 404{_error_detail(response)}")
    if status == 500:
        raise InternalServerError(f"GET {path}: HTTP 500{_error_detail(response)}")
    if status != 200:
        raise UpstreamError(f"GET {path}: HTTP {status}{_error_detail(response)}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as error:
        raise UpstreamContractError(f"GET {path}: response is not valid JSON ({error})") from None
