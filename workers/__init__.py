"""Process wiring for distributed execution: the Celery app, queues, routing, worker context.

The engine, store and providers are Celery-free (``catalog_ingest``, ``models``); this package
only adapts them to Celery. ``celery -A workers ...`` finds the app through ``workers.app``,
which is built on first access (PEP 562) so that importing a submodule loads no configuration.
"""

from typing import Any

_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name in {"app", "celery"}:
        if "app" not in _built:
            _built["app"] = _create_app_or_exit()
        return _built["app"]
    raise AttributeError(f"module 'workers' has no attribute {name!r}")


def _create_app_or_exit() -> Any:
    """Build the app; a configuration mistake is one line per problem and exit 2, no traceback."""
    import sys  # noqa: PLC0415 - deferred with the rest

    from catalog_ingest.app.config.problems import ConfigError  # noqa: PLC0415
    from workers.celery_app import create_app  # noqa: PLC0415

    try:
        return create_app()
    except (ConfigError, ValueError) as error:
        problems = getattr(error, "problems", None) or [error]
        for problem in problems:
            print(f"config: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
