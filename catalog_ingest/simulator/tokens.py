"""Continue tokens: opaque, signed, bound to one listing, expiring by age or by use count.

A token is ``base64url(json).base64url(hmac)``; the JSON holds the listing path, the last name
served (the next page starts strictly after it, as in Kubernetes), the last visible name, the
issue time and an id under which the server counts uses.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from catalog_ingest.simulator.api_errors import invalid_token, token_expired


@dataclass(frozen=True)
class Cursor:
    """What a valid token says."""

    listing: str
    after: str | None
    last_visible: str | None
    issued_at: float
    token_id: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ContinueTokens:
    """Issues and redeems tokens; counts uses per token id (thread-safe)."""

    def __init__(
        self,
        secret: bytes | None = None,
        ttl_seconds: float | None = None,
        max_uses: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_seconds = ttl_seconds
        self.max_uses = max_uses
        self._clock = clock
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)
        self._uses: dict[str, int] = {}
        self._lock = threading.Lock()

    def _sign(self, payload: bytes) -> str:
        return _b64encode(hmac.new(self._secret, payload, hashlib.sha256).digest()[:16])

    def issue(self, listing: str, after: str | None, last_visible: str | None) -> str:
        token_id = f"{self._prefix}-{next(self._ids)}"
        payload = orjson.dumps(
            {"l": listing, "a": after, "v": last_visible, "t": self._clock(), "i": token_id}
        )
        return f"{_b64encode(payload)}.{self._sign(payload)}"

    def redeem(self, token: str, listing: str) -> Cursor:
        """The cursor of a valid token for ``listing``; counts one use of it.

        Raises the 400 error when the token is malformed, tampered with or for another
        listing, and the 410 error when it is too old or used up.
        """
        cursor = self._decode(token)
        if cursor.listing != listing:
            raise invalid_token("it belongs to another listing")
        if self.ttl_seconds is not None and self._clock() - cursor.issued_at > self.ttl_seconds:
            raise token_expired()
        with self._lock:
            uses = self._uses.get(cursor.token_id, 0)
            if self.max_uses is not None and uses >= self.max_uses:
                raise token_expired()
            self._uses[cursor.token_id] = uses + 1
        return cursor

    def _decode(self, token: str) -> Cursor:
        encoded, _, signature = token.partition(".")
        try:
            payload = _b64decode(encoded)
        except (binascii.Error, ValueError):
            raise invalid_token("malformed") from None
        expected = self._sign(payload).encode()
        if not hmac.compare_digest(signature.encode(), expected):
            raise invalid_token("malformed or tampered with")
        data: Any = orjson.loads(payload)
        return Cursor(
            listing=data["l"],
            after=data["a"],
            last_visible=data["v"],
            issued_at=data["t"],
            token_id=data["i"],
        )
