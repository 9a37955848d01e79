"""What a usable database or Redis URL is: checked when the configuration loads.

A URL this project cannot use must be one ``check-config`` line, not a traceback from the
driver at first use (``ingest trigger``, a worker's start, ``ingest run``). Messages never
repeat the URL: the problem line renders the value with its password masked.
"""

from urllib.parse import SplitResult, urlsplit

DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "sqlite")
REDIS_SCHEMES = ("redis", "rediss", "unix")
_DATABASE_HINT = "use postgresql://user@host:5432/db or sqlite:///path.db"
_REDIS_HINT = "use redis://host:6379/0, rediss://... or unix:///path.sock"


def check_database_url(url: str) -> str:
    """``url`` if PostgreSQL (psycopg 3) or SQLite can use it, else ``ValueError``."""
    parts = _split(url, _DATABASE_HINT)
    if parts.scheme not in DATABASE_SCHEMES:
        raise ValueError(
            f"unsupported database {parts.scheme or '(no scheme)'!r}: {_DATABASE_HINT}"
        )
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.strip("/"):
            raise ValueError(f"a SQLite URL names a file: {_DATABASE_HINT}")
        return url
    _check_port(parts)
    return url


def check_redis_url(url: str) -> str:
    """``url`` if redis-py can connect with it, else ``ValueError``."""
    parts = _split(url, _REDIS_HINT)
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError(f"unsupported scheme {parts.scheme or '(none)'!r}: {_REDIS_HINT}")
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"a unix:// URL names a socket path: {_REDIS_HINT}")
        return url
    if not parts.hostname:
        raise ValueError(f"no host: {_REDIS_HINT}")
    _check_port(parts)
    return url


def _split(url: str, hint: str) -> SplitResult:
    if not url.strip():
        raise ValueError(f"empty URL: {hint}")
    try:
        return urlsplit(url)
    except ValueError:
        raise ValueError(f"not a URL: {hint}") from None


def _check_port(parts: SplitResult) -> None:
    """A port, when given, is a number in 1-65535 (``urlsplit`` only checks it on access)."""
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number in 1-65535") from None
    if port == 0:
        raise ValueError("the port must be a number in 1-65535")
