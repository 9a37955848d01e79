"""``ingest push`` into a push source, on PostgreSQL and SQLite, under the source's lock: PUT
(upsert) from a file or stdin, ``--delete`` of refs; a push source never runs a pass."""

import json
import os
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.aggregation.source_files import component, ref, write_json, write_yaml
from tests.support.cli_runner import run_ingest
from tests.support.engine_harness import read_source

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/0"


@pytest.fixture
def source() -> str:
    """A name of its own (the lock lives in a shared Redis database)."""
    return f"pushed-{secrets.token_hex(4)}"


@pytest.fixture
def config(db: sa.Engine, tmp_path: Path, source: str) -> Path:
    path = tmp_path / "ingest.yaml"
    path.write_text(
        f"database_url: {db.url.render_as_string(hide_password=False)}\n"
        f"redis_url: {REDIS_URL}\n"
        "sources:\n"
        f"  - {{name: {source}, type: push, priority: 5}}\n"
        f"  - {{name: files, type: file, settings: {{paths: ['{tmp_path}/none/*.yaml']}}}}\n"
    )
    return path


def ingest(*args: str, stdin: str | None = None) -> dict[str, object]:
    result = run_ingest(*args, input=stdin)
    assert result.returncode == 0, result.stderr
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_push_upserts_from_a_file_and_stdin_and_deletes_refs(
    db: sa.Engine, config: Path, source: str, tmp_path: Path
) -> None:
    entities = write_yaml(
        tmp_path / "push.yaml", component("one"), component("two"), component("bad name!")
    )

    first = ingest("push", source, str(entities), "--config", str(config))

    assert first == {"source": source, "upserted": 2, "removed": 0, "rejected": 1}
    assert set(read_source(db, source)) == {ref("one"), ref("two")}
    assert read_source(db, source)[ref("one")].body["spec"]["owner"] == "team-a"

    changed = json.dumps([component("one", owner="team-b"), component("three")])
    second = ingest("push", source, "-", "--config", str(config), stdin=changed)

    assert second["upserted"] == 2
    stored = read_source(db, source)
    assert set(stored) == {ref("one"), ref("two"), ref("three")}  # PUT keeps the others
    assert stored[ref("one")].body["spec"]["owner"] == "team-b"

    deleted = ingest(
        "push", source, "--delete", ref("two"), "component:three", "--config", str(config)
    )

    assert (deleted["removed"], deleted["rejected"]) == (2, 0)
    assert set(read_source(db, source)) == {ref("one")}


def test_a_push_source_runs_no_pass_so_nothing_is_swept(
    db: sa.Engine, config: Path, source: str, tmp_path: Path
) -> None:
    ingest("push", source, str(write_json(tmp_path / "e.json", component("kept"))), "--config",
           str(config))  # fmt: skip

    result = run_ingest("tick", source, "--config", str(config))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{source}: paused (written by pushes only: it has no passes)"
    assert set(read_source(db, source)) == {ref("kept")}
    status = run_ingest("status", "--provider", source, "--json", "--config", str(config))
    [row] = json.loads(status.stdout)
    assert (row["current"]["status"], row["current"]["next_action"]) == ("paused", "pause")


def test_pushing_to_another_kind_of_source_is_one_line(config: Path) -> None:
    result = run_ingest("push", "files", "-", "--config", str(config), input="[]")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: files is not a push source: only sources of type push take pushed entities"
    )


def test_an_unparsable_push_is_one_line_and_writes_nothing(
    db: sa.Engine, config: Path, source: str
) -> None:
    result = run_ingest("push", source, "-", "--config", str(config), input="a: [unclosed\n")

    assert result.returncode == 2
    assert result.stderr.startswith("error: -: invalid YAML: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert read_source(db, source) == {}
