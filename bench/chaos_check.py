"""The catalog against the upstream's truth, for ``bench/chaos.py``.

The truth is what a complete, clean pass over the simulator's current dataset must store
(``tests.support.openchoreo_catalog.expected_catalog``, the same oracle the provider's tests
use). A comparison counts, by ref:

- *missing*: upstream has it, the catalog never had it (neither before nor after the pass);
- *wrongly removed*: upstream has it (or a guard had to keep it), the catalog had it before
  the pass and has lost it;
- *extra*: the catalog has it, upstream does not (and no guard was expected to keep it);
- *duplicated*: rows beyond one per case-folded ref (Backstage refs are case-insensitive),
  in the merged catalog, in the source's own records and in ``ingest export``'s stream;
- *stale*: in both, but the stored body differs from upstream's.
"""

import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from catalog_ingest.contracts.provider import Entity
from catalog_ingest.engine.entity_preparation import entity_ref
from models.tables import catalog_entities, source_entities
from tests.support.engine_harness import read_catalog, strip_stamps

EXAMPLES = 5


@dataclass
class Discrepancies:
    missing: int = 0
    extra: int = 0
    duplicated: int = 0
    stale: int = 0
    wrongly_removed: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def lost_or_wrong(self) -> int:
        """What makes the suite fail: everything but staleness."""
        return self.missing + self.extra + self.duplicated + self.wrongly_removed

    @property
    def exact(self) -> bool:
        return self.lost_or_wrong == 0 and self.stale == 0

    def add(self, other: "Discrepancies") -> None:
        self.missing += other.missing
        self.extra += other.extra
        self.duplicated += other.duplicated
        self.stale += other.stale
        self.wrongly_removed += other.wrongly_removed
        self.examples = (self.examples + other.examples)[:EXAMPLES]

    def figures(self) -> dict[str, int]:
        values = asdict(self)
        values.pop("examples")
        return values

    def describe(self) -> str:
        return (
            f"{self.missing} missing, {self.extra} extra, {self.duplicated} duplicated, "
            f"{self.stale} stale, {self.wrongly_removed} wrongly removed"
        )


def _stripped(body: dict[str, Any], provider: str) -> dict[str, Any] | None:
    """The body without the engine's location stamps; None when the stamps are wrong."""
    try:
        return strip_stamps(body, provider)
    except (AssertionError, KeyError):
        return None


def stored_catalog(database: sa.Engine, provider: str) -> dict[str, dict[str, Any] | None]:
    return {ref: _stripped(body, provider) for ref, body in read_catalog(database).items()}


def catalog_refs(database: sa.Engine) -> set[str]:
    with database.connect() as connection:
        return set(connection.execute(sa.select(catalog_entities.c.ref)).scalars())


def stored_duplicates(database: sa.Engine, provider: str) -> int:
    """Rows beyond one per case-folded ref, in the merged catalog and the source's records."""
    total = 0
    with database.connect() as connection:
        for table, where in (
            (catalog_entities, sa.true()),
            (source_entities, source_entities.c.source == provider),
        ):
            rows, distinct = connection.execute(
                sa.select(
                    sa.func.count(), sa.func.count(sa.func.distinct(sa.func.lower(table.c.ref)))
                )
                .select_from(table)
                .where(where)
            ).one()
            total += rows - distinct
    return total


def _export_ref(entity: Entity) -> str:
    metadata = entity["metadata"]
    return entity_ref(entity["kind"], metadata.get("namespace") or "default", metadata["name"])


def export_duplicates(config_path: Path, expected_rows: int) -> tuple[int, str | None]:
    """Run ``ingest export --format json`` as an operator would; count refs it repeats, and
    say what is wrong when its stream does not hold the catalog's rows."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", "export", "--format", "json", "--config", str(config_path)],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return 0, f"ingest export failed: {result.stderr.decode(errors='replace')[-500:]}"
    refs = Counter(
        _export_ref(orjson.loads(line)).lower() for line in result.stdout.splitlines() if line
    )
    duplicated = sum(count - 1 for count in refs.values())
    rows = sum(refs.values())
    problem = None if rows == expected_rows else f"export has {rows} rows, catalog {expected_rows}"
    return duplicated, problem


def compare(
    truth: dict[str, Entity],
    stored: dict[str, dict[str, Any] | None],
    before: set[str],
    must_keep: Iterable[str] = (),
) -> Discrepancies:
    """The catalog after a pass against upstream; ``must_keep``: refs gone upstream that a
    guard had to keep (a refused sweep), so they count as wrongly removed when gone and are
    not extra while there."""
    kept = set(must_keep) - set(truth)
    absent = set(truth) - set(stored)
    wrongly = (absent & before) | (kept - set(stored))
    missing = absent - before
    extra = set(stored) - set(truth) - kept
    stale = {ref for ref in set(truth) & set(stored) if stored[ref] != truth[ref]}
    found = Discrepancies(len(missing), len(extra), 0, len(stale), len(wrongly))
    for label, refs in (
        ("missing", missing), ("wrongly removed", wrongly), ("extra", extra), ("stale", stale),
    ):  # fmt: skip
        found.examples += [f"{label}: {ref}" for ref in sorted(refs)[:EXAMPLES]]
    found.examples = found.examples[:EXAMPLES]
    return found
