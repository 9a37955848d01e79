"""Where configuration values come from: pydantic-settings' sources, for the application config
and the workers' settings alike (init kwargs > environment > the file > defaults)."""

import textwrap
from pathlib import Path

import pytest

from catalog_ingest.app.composition import build_provider
from catalog_ingest.app.config.config_file import ConfigFile
from catalog_ingest.app.config.loading import (
    ENV_OVERRIDES,
    check_config,
    load_config,
    reading,
)
from catalog_ingest.app.config.schema import (
    DEFAULT_DATABASE_URL,
    ProviderConfig,
    WorkerSection,
)
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.synthetic import SyntheticProvider
from workers.worker_settings import WorkerSettings

NO_ENV: dict[str, str] = {}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- application config


def test_the_environment_beats_the_file_which_beats_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, "redisUrl: redis://file/0\nlog_level: ERROR\nlogFormat: json\n")

    config = load_config(path, {"REDIS_URL": "redis://env/1", "INGEST_LOG_FORMAT": "console"})

    assert config.redis_url == "redis://env/1"
    assert config.log_format == "console"
    assert config.log_level == "ERROR"
    assert config.database_url == DEFAULT_DATABASE_URL


def test_overrides_given_to_load_config_beat_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite:///file.db\n")

    config = load_config(
        path, {"DATABASE_URL": "sqlite:///env.db"}, overrides={"databaseUrl": "sqlite:///init.db"}
    )

    assert config.database_url == "sqlite:///init.db"


@pytest.mark.parametrize(("key", "variable"), sorted(ENV_OVERRIDES.items()))
def test_an_empty_environment_variable_does_not_override_the_file(
    tmp_path: Path, key: str, variable: str
) -> None:
    file_values = {
        "database_url": "sqlite:///file.db",
        "redis_url": "redis://file/0",
        "log_level": "ERROR",
        "log_format": "json",
    }
    path = write(tmp_path, f"{key}: {file_values[key]}\n")

    config = load_config(path, {variable: ""})

    assert getattr(config, key) == file_values[key]


def test_unrelated_environment_variables_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "providers: [{name: synth, type: synthetic}]\n")
    environ = {
        "PROVIDERS": "[{name: other, type: synthetic}]",
        "INGEST_PROVIDERS": '[{"name": "other", "type": "synthetic"}]',
        "OPENCHOREO": '{"baseUrl": "https://oc.example"}',
        "LOG_LEVEL": "DEBUG",
        "INGEST_DATABASE_URL": "sqlite:///not-this.db",
        "database_url": "sqlite:///not-this-either.db",
        "INGEST_DETAILS_PER_TASK": "7",
    }

    assert load_config(path, environ) == load_config(path, NO_ENV)


def test_an_environment_variable_beats_the_file_key_in_either_spelling(tmp_path: Path) -> None:
    for key in ("log_level", "logLevel"):
        path = write(tmp_path, f"{key}: ERROR\n")

        assert load_config(path, {"INGEST_LOG_LEVEL": "debug"}).log_level == "DEBUG"
        assert check_config(path, {"INGEST_LOG_LEVEL": "debug"}) == []


# --------------------------------------------------------------------------- worker settings


def test_the_worker_section_is_read_by_the_worker_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "worker:\n  detailsPerTask: 3\n  time_limit_margin: 20\n")
    monkeypatch.setenv("INGEST_CONFIG", str(path))
    for name in WorkerSettings.model_fields:
        monkeypatch.delenv(f"INGEST_{name.upper()}", raising=False)

    settings = WorkerSettings()

    assert (settings.details_per_task, settings.time_limit_margin) == (3, 20)
    assert settings.visibility_timeout == 3600


def test_an_INGEST_DETAILS_PER_TASK_variable_beats_the_worker_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "worker: {details_per_task: 3, visibilityTimeout: 7200}\n")
    monkeypatch.setenv("INGEST_CONFIG", str(path))
    monkeypatch.setenv("INGEST_DETAILS_PER_TASK", "25")
    monkeypatch.delenv("INGEST_VISIBILITY_TIMEOUT", raising=False)

    settings = WorkerSettings()

    assert (settings.details_per_task, settings.visibility_timeout) == (25, 7200)


def test_worker_settings_read_the_file_and_environment_of_a_reading_block(tmp_path: Path) -> None:
    path = write(tmp_path, "worker: {detailsPerTask: 3, requestSlotLease: 60}\n")
    environ = {"INGEST_DETAILS_PER_TASK": "9", "INGEST_TIME_LIMIT_MARGIN": ""}

    with reading(ConfigFile.named(path, environ)):
        settings = WorkerSettings(request_slot_lease=30)

    assert settings.details_per_task == 9
    assert settings.request_slot_lease == 30
    assert settings.time_limit_margin == 15


def test_the_worker_section_has_exactly_the_worker_settings_keys() -> None:
    assert list(WorkerSection.model_fields) == list(WorkerSettings.model_fields)


def test_an_unknown_key_in_the_worker_section_is_one_problem_line(tmp_path: Path) -> None:
    path = write(tmp_path, "worker: {detailsPerTaks: 3}\n")

    [problem] = [str(p) for p in check_config(path, NO_ENV)]

    assert problem.startswith(
        "worker.detailsPerTaks: 3 - unknown key (did you mean 'detailsPerTask'?); allowed: "
    )
    assert "brokerUrl" in problem


def test_a_worker_setting_out_of_range_is_one_problem_line(tmp_path: Path) -> None:
    path = write(tmp_path, "worker: {details_per_task: 0}\n")

    assert [str(p) for p in check_config(path, NO_ENV)] == [
        "worker.details_per_task: 0 - Input should be greater than or equal to 1"
    ]


# --------------------------------------------------------------------------- synthetic settings


def test_bad_synthetic_settings_are_one_problem_each(tmp_path: Path) -> None:
    text = """\
        providers:
          - name: synth
            type: synthetic
            settings: {entities: -1, colour: red, page_size: 0}
        """

    problems = [str(p) for p in check_config(write(tmp_path, text), NO_ENV)]

    assert problems == [
        "providers[0].settings.entities: -1 - Input should be greater than or equal to 0",
        "providers[0].settings.page_size: 0 - Input should be greater than or equal to 1",
        "providers[0].settings.colour: 'red' - unknown key; allowed: entities, pageSize, "
        "pageDelayMs, seed, bodyBytes, namespace",
    ]


def test_a_synthetic_provider_pages_by_chunk_size_unless_told_otherwise() -> None:
    options = ProviderOptions(chunk_size=50)
    default = build_provider(ProviderConfig(name="a", type="synthetic", options=options))
    told = build_provider(
        ProviderConfig(
            name="b",
            type="synthetic",
            options=options,
            settings={"pageSize": 20, "page_delay_ms": 250, "entities": 7, "seed": 3},
        )
    )

    assert isinstance(default, SyntheticProvider)
    assert isinstance(told, SyntheticProvider)
    assert (default.page_size, default.page_delay, default.source.size) == (50, 0, 1000)
    assert (told.page_size, told.page_delay, told.source.size, told.source.seed) == (20, 0.25, 7, 3)
