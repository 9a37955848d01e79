"""The ``file`` source as a provider of the engine, on PostgreSQL and SQLite: globs,
multi-document YAML, JSON, invalid documents, the sweep of a removed file, and passes that are
interrupted (they drop nothing)."""

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from catalog_ingest.contracts.provider import JSONValue, Page
from catalog_ingest.engine.clock import ManualClock
from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.engine.state_table import Engine
from catalog_ingest.providers.sources.file_settings import FileSourceSettings
from catalog_ingest.providers.sources.file_source import FileSourceProvider, FileWalk
from models.sql_repository import SqlRepository
from tests.aggregation.source_files import component, ref, write_json, write_yaml
from tests.support.engine_harness import (
    build_engine,
    complete_pass,
    options,
    read_source,
    run_until,
    tick_when_due,
)

SOURCE = "files"


class ClockedFileSource(FileSourceProvider):
    """A file source whose every page takes ``seconds_per_page`` of the manual clock (bursts
    end on their deadline) and that records the cursors it is asked for."""

    def __init__(self, paths: list[str], page_size: int, clock: ManualClock, seconds: float):
        super().__init__(SOURCE, FileSourceSettings(paths=paths), page_size)
        self.clock, self.seconds = clock, seconds
        self.cursors: list[JSONValue] = []

    def next(self, context: FileWalk, cursor: JSONValue) -> Page:
        self.cursors.append(cursor)
        page = super().next(context, cursor)
        self.clock.advance(self.seconds)
        return page


def file_engine(
    repository: SqlRepository,
    clock: ManualClock,
    paths: list[str],
    page_size: int = 100,
    seconds_per_page: float = 0.0,
    **option_values: Any,
) -> tuple[Engine, ClockedFileSource]:
    provider = ClockedFileSource(paths, page_size, clock, seconds_per_page)
    return build_engine(repository, clock, provider, options(**option_values)), provider


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """Where the entity files go (the SQLite database lives in ``tmp_path`` itself)."""
    return tmp_path / "catalog"


def stored_refs(db: sa.Engine) -> set[str]:
    return set(read_source(db, SOURCE))


def test_globs_multi_document_yaml_and_json_are_all_ingested(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    write_yaml(files / "a.yaml", component("a1"), component("a2"), None)
    write_yaml(files / "deep" / "er" / "b.yaml", component("b1"))
    write_json(files / "c.json", [component("c1"), component("c2")])
    write_json(files / "d.json", component("d1"))
    write_yaml(files / "ignored.txt", component("not-matched"))
    paths = [str(files / "**" / "*.yaml"), str(files / "*.json")]
    engine, _provider = file_engine(repository, clock, paths, page_size=2)

    outcome = complete_pass(engine, clock, SOURCE)

    expected = {ref(name) for name in ("a1", "a2", "b1", "c1", "c2", "d1")}
    assert stored_refs(db) == expected
    assert outcome.rejected == 0
    body = read_source(db, SOURCE)[ref("b1")].body
    assert body["spec"]["owner"] == "team-a"
    assert body["metadata"]["annotations"]["backstage.io/managed-by-location"] == "provider:files"


def test_invalid_documents_are_rejected_one_by_one_and_counted(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    bad_name = component("bad name!")
    no_kind = {key: value for key, value in component("kindless").items() if key != "kind"}
    write_yaml(files / "mixed.yaml", component("ok1"), bad_name, "just a string", no_kind)
    write_json(files / "more.json", [component("ok2"), 42])
    engine, _provider = file_engine(repository, clock, [str(files / "*")])

    outcomes = run_until(engine, clock, TickAction.PASS_COMPLETED, SOURCE)

    assert stored_refs(db) == {ref("ok1"), ref("ok2")}
    assert sum(outcome.rejected for outcome in outcomes) == 4
    ingestion = repository.list_ingestions(SOURCE)[0]
    assert ingestion.rejected == 4


def test_a_removed_file_has_its_entities_swept_when_the_next_pass_completes(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    write_yaml(files / "keep.yaml", component("kept"))
    gone = write_yaml(files / "gone.yaml", component("gone1"), component("gone2"))
    engine, _provider = file_engine(repository, clock, [str(files / "*.yaml")])
    complete_pass(engine, clock, SOURCE)
    assert stored_refs(db) == {ref("kept"), ref("gone1"), ref("gone2")}

    gone.unlink()
    outcome = complete_pass(engine, clock, SOURCE)

    assert outcome.removed == 2
    assert stored_refs(db) == {ref("kept")}


@pytest.mark.parametrize(
    ("guard", "left"),
    [
        ({"reject_empty_source_collections": True}, "kept"),
        ({"reject_removals_above_percentage": 50}, "kept"),
        ({}, "swept"),
    ],
)
def test_a_source_that_suddenly_provides_nothing_is_guarded_like_any_provider(
    db: sa.Engine,
    repository: SqlRepository,
    clock: ManualClock,
    files: Path,
    guard: dict[str, Any],
    left: str,
) -> None:
    """Every file gone from under a glob: the configured guards refuse the sweep (the records
    stay and the refusal is the pass's note); without a guard the source empties."""
    entities = write_yaml(files / "all.yaml", component("a"), component("b"))
    engine, _provider = file_engine(repository, clock, [str(files / "*.yaml")], **guard)
    complete_pass(engine, clock, SOURCE)

    entities.unlink()
    outcome = complete_pass(engine, clock, SOURCE)

    if left == "kept":
        assert outcome.removed == 0
        assert stored_refs(db) == {ref("a"), ref("b")}
        assert "refused" in (outcome.note or "")
    else:
        assert outcome.removed == 2
        assert stored_refs(db) == set()


def test_an_interrupted_pass_drops_nothing_and_the_completed_one_sweeps(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    """A file that cannot be parsed fails the refresh (backoff): nothing is swept, not even
    the entities of a file removed meanwhile, until a pass completes."""
    write_yaml(files / "a.yaml", component("a"))
    gone = write_yaml(files / "b.yaml", component("b"))
    broken = write_yaml(files / "c.yaml", component("c"))
    engine, _provider = file_engine(repository, clock, [str(files / "*.yaml")])
    complete_pass(engine, clock, SOURCE)

    gone.unlink()
    broken.write_text("kind: Component\nmetadata: {name: [unclosed\n")
    outcomes = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)

    assert outcomes[-1].note is not None and "c.yaml: invalid YAML" in outcomes[-1].note
    assert stored_refs(db) == {ref("a"), ref("b"), ref("c")}
    assert "c.yaml: invalid YAML" in (repository.list_ingestions(SOURCE)[0].last_error or "")

    write_yaml(broken, component("c"))
    outcome = complete_pass(engine, clock, SOURCE, allow_backoff=True)
    assert outcome.removed == 1
    assert stored_refs(db) == {ref("a"), ref("c")}


def test_a_missing_literal_path_fails_the_refresh_instead_of_emptying_the_source(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    listed = write_yaml(files / "catalog-info.yaml", component("listed"))
    engine, _provider = file_engine(repository, clock, [str(listed)])
    complete_pass(engine, clock, SOURCE)

    listed.unlink()
    outcome = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]

    assert outcome.note is not None and "no such file" in outcome.note
    assert stored_refs(db) == {ref("listed")}


def test_an_alias_bomb_is_refused_and_drops_nothing(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    write_yaml(files / "a.yaml", component("a"))
    engine, _provider = file_engine(repository, clock, [str(files / "*.yaml")])
    complete_pass(engine, clock, SOURCE)
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    levels += [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abcdef", "bcdefg", strict=True)
    ]
    (files / "b.yaml").write_text("\n".join(levels) + "\n")

    outcome = run_until(engine, clock, TickAction.BACKED_OFF, SOURCE, allow_backoff=True)[-1]

    assert outcome.note is not None and "b.yaml: refused YAML" in outcome.note
    assert stored_refs(db) == {ref("a")}


def test_a_pass_over_many_bursts_resumes_by_file_and_document(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    """Pages of 3 documents, one page per burst: the cursor names the file and how many of its
    documents were consumed; a file added before the cursor meanwhile shifts nothing."""
    write_yaml(files / "b.yaml", *(component(f"b{i}") for i in range(5)))
    write_yaml(files / "d.yaml", *(component(f"d{i}") for i in range(2)))
    engine, provider = file_engine(
        repository, clock, [str(files / "*.yaml")], 3, seconds_per_page=60, burst_length=30
    )
    first = tick_when_due(engine, clock, SOURCE)
    assert first.action is TickAction.BURST and first.pages == 1
    write_yaml(files / "a.yaml", component("a0"))  # sorts before the cursor's file

    complete_pass(engine, clock, SOURCE)

    b, d = str(files / "b.yaml"), str(files / "d.yaml")
    assert provider.cursors == [None, {"file": b, "doc": 3}, {"file": d, "doc": 1}]
    expected = {ref(f"b{i}") for i in range(5)} | {ref("d0"), ref("d1")}
    assert stored_refs(db) == expected


@pytest.mark.parametrize(
    ("cursor", "described"),
    [({"file": "/srv/a.yaml", "doc": 4}, {"file": "/srv/a.yaml", "documents": "4"}), (7, {})],
)
def test_status_describes_the_cursor(cursor: JSONValue, described: dict[str, str]) -> None:
    provider = FileSourceProvider(SOURCE, FileSourceSettings(paths=["x"]), 10)
    assert provider.describe_cursor(cursor) == described


def test_dates_stay_strings_as_backstage_reads_them(
    db: sa.Engine, repository: SqlRepository, clock: ManualClock, files: Path
) -> None:
    files.mkdir()
    (files / "dated.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        "metadata: {name: dated, annotations: {example.com/created: 2024-05-01}}\n"
        "spec: {type: service, lifecycle: production, owner: team-a}\n"
    )
    engine, _provider = file_engine(repository, clock, [str(files / "*.yaml")])

    assert complete_pass(engine, clock, SOURCE).rejected == 0

    annotations = read_source(db, SOURCE)[ref("dated")].body["metadata"]["annotations"]
    assert annotations["example.com/created"] == "2024-05-01"
