"""Keep secrets out of logs, stored errors and status output."""

import re
from collections.abc import Iterable

MAX_ERROR_LENGTH = 4096
REDACTED = "***"

_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(?P<p>authorization\s*[:=]\s*(?:bearer\s+|basic\s+)?)[^\s,;'\"]+"),
    re.compile(r"(?i)(?P<p>bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(?P<p>(?:token|password|secret|api[_-]?key)\s*[:=]\s*)[^\s,;'\"&]+"),
    re.compile(r"(?P<p>://[^:/@\s]+:)[^@\s]+(?P<s>@)"),
)


def _keep_prefix_and_suffix(match: re.Match[str]) -> str:
    return match.group("p") + REDACTED + (match.groupdict().get("s") or "")


class Redactor:
    """Replaces configured secrets and credential-looking fragments with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
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
