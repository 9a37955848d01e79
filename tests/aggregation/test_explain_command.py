"""``ingest explain REF`` end to end on a SQLite file: each field's source, the records behind
the merged entity (priority, merge mode, expiry), ``--json``, and one line for an unknown ref."""

import json
from datetime import timedelta
from pathlib import Path

from migrations.runner import upgrade
from models.database import create_database_engine
from models.sql_repository import SqlRepository
from tests.aggregation.merge_support import T0, entity, write
from tests.support.cli_runner import run_ingest


def catalog_file(tmp_path: Path) -> str:
    """A SQLite catalog where two sources hold ``component:default/a``."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db = create_database_engine(url)
    upgrade(db)
    repository = SqlRepository(db)
    write(repository, "low", [entity("a", annotations={"team": "low", "x": "1"})], priority=1)
    write(
        repository,
        "high",
        [entity("a", annotations={"team": "high"}, tags=["web"])],
        priority=5,
        now=T0 + timedelta(minutes=1),
        ttl_seconds=10 * 365 * 24 * 3600,
    )
    db.dispose()
    return url


def test_explain_names_the_source_of_each_field_and_lists_the_records(tmp_path: Path) -> None:
    url = catalog_file(tmp_path)
    result = run_ingest("explain", "component:a", "--database-url", url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("component:default/a  hash ")
    fields = {line.split()[0]: line.split()[-1] for line in lines if line.startswith("  metadata")}
    assert fields["metadata.annotations.team"] == "high"
    assert fields["metadata.annotations.x"] == "low"
    assert fields["metadata.tags[0]"] == "high"
    records = [line for line in lines if "priority" in line]
    assert records[0].split()[0] == "high" and "merge deep" in records[0]
    assert "expires 2036" in records[0]
    assert records[1].split()[0] == "low" and "expires never" in records[1]


def test_explain_json_carries_fields_records_and_the_entity(tmp_path: Path) -> None:
    url = catalog_file(tmp_path)
    result = run_ingest("explain", "component:default/a", "--json", "--database-url", url)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["ref"] == "component:default/a" and shown["feed_position"] == 2
    assert {"field": "metadata.annotations.x", "source": "low"} in shown["fields"]
    assert [r["source"] for r in shown["records"]] == ["high", "low"]
    assert shown["entity"]["metadata"]["annotations"]["team"] == "high"


def test_an_unknown_ref_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = catalog_file(tmp_path)
    result = run_ingest("explain", "component:default/nope", "--database-url", url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: no source holds component:default/nope"]
