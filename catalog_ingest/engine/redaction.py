"""Keep secrets out of logs, stored errors, status output and configuration problems.

Two halves: *finding* secrets in configuration-like data (:func:`is_secret_key`,
:func:`secret_values`, :func:`url_passwords`, :func:`mask_url_password`) and *hiding* them in
text (:class:`Redactor`).
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_ERROR_LENGTH = 4096
REDACTED = "***"
MIN_SECRET_CHARS = 4
"""Shorter configured secrets are not replaced in text: ``1`` would mask every digit."""

SECRET_KEY = re.compile(r"token|passw|secret|credential|api_?key|private_?key", re.IGNORECASE)
"""Keys whose values are secrets (``token``, ``apiKey``, ``adminPassword``, ``passwd``...)."""

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^/@\s]+@")
_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(?P<p>authorization\s*[:=]\s*(?:bearer\s+|basic\s+)?)[^\s,;'\"]+"),
    re.compile(r"(?i)(?P<p>bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(?P<p>(?:token|password|secret|api[_-]?key)\s*[:=]\s*)[^\s,;'\"&]+"),
    re.compile(r"(?P<p>://[^:/@\s]+:)[^@\s]+(?P<s>@)"),
)


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret (its value must never be shown)."""
    return isinstance(key, str) and SECRET_KEY.search(key) is not None


def secret_values(value: Any, under_secret_key: bool = False) -> Iterator[str]:
    """Every secret in parsed configuration data, at any depth.

    Scalars below a secret key (``password: 1234`` is a secret too, as is each item of a list
    under ``tokens:``) and the passwords of URLs found in any other string.
    """
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from secret_values(item, under_secret_key or is_secret_key(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from secret_values(item, under_secret_key)
    elif under_secret_key and value is not None and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, str):
        yield from url_passwords(value)


def url_passwords(url: str | None) -> list[str]:
    """The password of ``scheme://user:password@host``, as written and percent-decoded."""
    try:
        password = urlsplit(url).password if url else None
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def mask_url_password(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` replaced by ``***``."""
    return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", text)


def _keep_prefix_and_suffix(match: re.Match[str]) -> str:
    return match.group("p") + REDACTED + (match.groupdict().get("s") or "")


class Redactor:
    """Replaces configured secrets and credential-looking fragments with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True
        )

    def hide_secrets(self, text: str) -> str:
        """``text`` with every configured secret replaced, and nothing else changed."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def redact(self, text: str) -> str:
        """:meth:`hide_secrets`, then credential shapes (``Bearer x``, ``token=x``, URLs)."""
        text = self.hide_secrets(text)
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub(_keep_prefix_and_suffix, text)
        return text

    def describe_error(self, error: BaseException) -> str:
        """``Type: message`` of an error, redacted and truncated for storage."""
        text = self.redact(f"{type(error).__name__}: {error}")
        suffix = " ... [truncated]"
        if len(text) > MAX_ERROR_LENGTH:
            text = text[: MAX_ERROR_LENGTH - len(suffix)] + suffix
        return text
