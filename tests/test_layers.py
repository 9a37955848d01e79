"""The layer rule, checked at run time: the engine loads no infrastructure package.

``make lint`` checks the static imports (import-linter); this checks what importing the engine
actually loads, in a fresh interpreter, so an import hidden in a function body or pulled in
through a third package is caught too.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRASTRUCTURE = ("redis", "sqlalchemy", "alembic", "celery", "kombu", "httpx", "rich", "psycopg")

_LOAD_EVERY_MODULE = """
import importlib, json, pkgutil, sys
import {package} as root
names = [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({{"imported": names, "loaded": sorted(sys.modules)}}))
"""


def _load_in_fresh_interpreter(package: str) -> tuple[list[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_EVERY_MODULE.format(package=package)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    return report["imported"], {name.split(".")[0] for name in report["loaded"]}


def test_importing_every_engine_module_loads_no_infrastructure_package() -> None:
    imported, loaded = _load_in_fresh_interpreter("catalog_ingest.engine")
    assert "catalog_ingest.engine.state_table" in imported
    assert "catalog_ingest.engine.burst" in imported
    assert loaded.isdisjoint(INFRASTRUCTURE), sorted(loaded & set(INFRASTRUCTURE))


def test_importing_the_contracts_loads_no_third_party_package() -> None:
    imported, loaded = _load_in_fresh_interpreter("catalog_ingest.contracts")
    assert "catalog_ingest.contracts.storage" in imported
    assert loaded.isdisjoint({*INFRASTRUCTURE, "pydantic", "orjson", "structlog"})


def test_the_check_sees_an_infrastructure_import_when_there_is_one() -> None:
    """The same probe on the Redis coordination package reports redis: it can fail."""
    _imported, loaded = _load_in_fresh_interpreter("catalog_ingest.coordination")
    assert "redis" in loaded


def test_importing_every_aggregator_module_loads_no_infrastructure_package() -> None:
    imported, loaded = _load_in_fresh_interpreter("catalog_ingest.aggregation")
    assert "catalog_ingest.aggregation.merge" in imported
    assert "catalog_ingest.aggregation.resolution" in imported
    assert loaded.isdisjoint(INFRASTRUCTURE), sorted(loaded & set(INFRASTRUCTURE))
