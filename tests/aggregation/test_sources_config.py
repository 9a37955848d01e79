"""``sources:`` in the configuration: validated like the rest (one line per problem), mapped
onto the providers the engine, beat and the workers run."""

import textwrap
from pathlib import Path

import pytest

from beat_schedule import build_beat_schedule
from catalog_ingest.app.composition import build_provider
from catalog_ingest.app.config.loading import check_config, load_config
from catalog_ingest.engine.redaction import Redactor
from catalog_ingest.providers.sources.file_source import FileSourceProvider
from catalog_ingest.providers.sources.push_source import PushSourceProvider
from catalog_ingest.providers.sources.url_source import UrlSourceProvider
from tests.support.cli_runner import run_ingest

VALID = """\
providers:
  - name: synth
    type: synthetic
sources:
  - name: local-files
    type: file
    priority: 5
    schedule: 15m
    ttlSeconds: 7200
    merge: replace
    settings:
      paths: ["catalog/*.yaml", "extra.json"]
    options:
      chunkSize: 50
      rejectRemovalsAbovePercentage: 20
  - name: remote
    type: url
    schedule: 600
    settings:
      urls: ["https://user:url-password@example.com/all.yaml?token=query-token"]
      headers: {Authorization: "Bearer header-token-value"}
      timeoutSeconds: 5
  - name: pushed
    type: push
    priority: 9
    ttl_seconds: 86400
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    return [str(problem) for problem in check_config(write(tmp_path, text), {})]


def test_sources_become_providers_of_their_type(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    providers = {provider.name: provider for provider in config.all_providers()}

    assert list(providers) == ["synth", "local-files", "remote", "pushed"]
    files = providers["local-files"]
    assert (files.type, files.priority, files.settings["paths"][1]) == ("file", 5, "extra.json")
    assert files.options.rest_length == 15  # minutes: the schedule
    assert files.options.chunk_size == 50
    assert files.options.reject_removals_above_percentage == 20
    assert providers["remote"].options.rest_length == 10
    assert isinstance(build_provider(files), FileSourceProvider)
    assert isinstance(build_provider(providers["remote"]), UrlSourceProvider)
    assert isinstance(build_provider(providers["pushed"]), PushSourceProvider)
    assert (files.options.ttl_seconds, files.options.merge) == (7200, "replace")
    assert (providers["remote"].options.ttl_seconds, providers["remote"].options.merge) == (
        None,
        "deep",
    )
    assert providers["pushed"].options.ttl_seconds == 86400


def test_beat_ticks_file_and_url_sources_but_not_push_sources(tmp_path: Path) -> None:
    schedule = build_beat_schedule(load_config(write(tmp_path, VALID), environ={}))
    assert set(schedule) == {"tick synth", "tick local-files", "tick remote"}


def test_url_and_header_secrets_are_redacted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    redactor = Redactor(config.secrets())
    line = "GET https://user:url-password@example.com/?token=query-token header-token-value"
    shown = redactor.hide_secrets(line)
    for secret in ("url-password", "query-token", "header-token-value"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            "{name: s, type: ftp}",
            "sources[0].type: 'ftp' - Input should be 'file', 'url' or 'push'",
        ),
        (
            "{name: s, type: file, settings: {paths: [a]}, schedule: 5x}",
            "sources[0].schedule: '5x' - must be seconds (900) or an interval like 90s, 15m, "
            "2h, 1d",
        ),
        (
            "{name: s, type: file, settings: {paths: [a]}, schedule: 30}",
            "sources[0].schedule: 30 - must be between 60 seconds and 1 day (30 seconds)",
        ),
        (
            "{name: s, type: file, settings: {paths: [a]}, ttlSeconds: true}",
            "sources[0].ttlSeconds: true - must be a number, not a boolean (true)",
        ),
        (
            "{name: s, type: file, settings: {paths: [a]}, merge: union}",
            "sources[0].merge: 'union' - Input should be 'deep' or 'replace'",
        ),
        (
            "{name: s, type: file, settings: {paths: [a], maxFileByte: 5}}",
            "sources[0].settings.maxFileByte: 5 - unknown key (did you mean 'maxFileBytes'?); "
            "allowed: paths, maxFileBytes",
        ),
        (
            "{name: s, type: url, settings: {urls: ['ftp://x/a.yaml']}}",
            "sources[0].settings.urls[0]: 'ftp://x/a.yaml' - must be an http:// or https:// URL "
            "with a host",
        ),
        (
            "{name: s, type: push, schedule: 120}",
            "sources[0].schedule: 120.0 - a push source has no refreshes; remove it",
        ),
        (
            "{name: s, type: file, settings: {paths: [a]}, options: {restLength: 5}}",
            "sources[0].options.rest_length: 5.0 - a source's schedule sets it; remove it",
        ),
        (
            "{name: s, type: push, options: {ttlSeconds: 5}}",
            "sources[0].options.ttl_seconds: 5 - a source's ttl_seconds sets it; remove it",
        ),
        (
            "{name: s, type: file, settings: {paths: [a]}, every: 60}",
            "sources[0].every: 60 - unknown key; allowed: name, type, priority, schedule, "
            "ttlSeconds, merge, settings, options",
        ),
    ],
)
def test_a_bad_source_is_one_problem_line(tmp_path: Path, source: str, problem: str) -> None:
    assert problems_of(tmp_path, f"sources:\n  - {source}\n") == [problem]


def test_names_are_unique_across_providers_and_sources(tmp_path: Path) -> None:
    text = """\
    providers:
      - {name: shared, type: synthetic}
    sources:
      - {name: shared, type: push}
    """
    assert problems_of(tmp_path, text) == [
        "providers: 'shared' - provider names must be unique: 'shared' is used by providers[0] "
        "and sources[0]"
    ]


def test_a_source_type_is_refused_in_providers(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "providers:\n  - {name: f, type: file}\n")
    assert problems == ["providers[0].type: 'file' - Input should be 'synthetic' or 'openchoreo'"]


def test_check_config_reports_source_problems_one_line_each(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - {name: s, type: url, settings: {urls: []}}\n")
    result = run_ingest("check-config", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "sources[0].settings.urls: [] - List should have at least 1 item after validation, not 0"
    ]
    assert run_ingest("check-config", str(write(tmp_path, VALID))).returncode == 0


def test_the_commented_example_in_ingest_example_yaml_is_valid(tmp_path: Path) -> None:
    example = (Path(__file__).parents[2] / "ingest.example.yaml").read_text().splitlines()
    start = example.index("# sources:")
    block = []
    for line in example[start:]:
        if not line.startswith("#"):
            break
        block.append(line.removeprefix("# "))
    config = load_config(write(tmp_path, "\n".join(block) + "\n"), environ={})
    assert [(s.name, s.type) for s in config.sources] == [
        ("catalog-files", "file"),
        ("team-catalog", "url"),
        ("cmdb", "push"),
    ]


def test_a_name_clash_with_a_source_is_reported_beside_other_problems(tmp_path: Path) -> None:
    text = """\
    providers:
      - {name: shared, type: synthetic, options: {chunkSize: 0}}
    sources:
      - {name: shared, type: push}
    """
    assert [problem.split(" - ")[0] for problem in problems_of(tmp_path, text)] == [
        "providers[0].options.chunkSize: 0",
        "providers: 'shared'",
    ]
