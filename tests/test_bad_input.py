"""Bad input of every kind: one clear line, exit 2 (1 for an unreachable service), no
traceback, no hang, no secret."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog_ingest.app.config.loading import check_config_report
from catalog_ingest.app.config.problems import ConfigError
from tests.support.cli_runner import run_ingest
from workers.worker_settings import WorkerSettings

SECRET = "Sup3rSecret"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def config_with_token(tmp_path: Path) -> Path:
    path = tmp_path / "secret.yaml"
    path.write_text(f"openchoreo: {{baseUrl: 'https://oc.example/api/v1', token: {SECRET}}}\n")
    return path


@pytest.mark.parametrize(
    ("kind", "args", "env", "code"),
    [
        (
            "config problem",
            ["status", "--database-url", f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/x"],
            {},
            2,
        ),
        (
            "database URL",
            ["demo", "--database-url", f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/x"],
            {},
            2,
        ),
        (
            "unreachable database",
            ["status", "--database-url", f"postgresql://postgres:{SECRET}@127.0.0.1:1/x"],
            {},
            1,
        ),
        (
            "unreachable broker",
            ["trigger", "openchoreo"],
            {"REDIS_URL": f"redis://:{SECRET}@127.0.0.1:1/0"},
            1,
        ),
        ("unknown provider", ["marks", SECRET], {}, 2),
    ],
)
def test_every_kind_of_error_is_one_line_without_the_secret(
    tmp_path: Path, kind: str, args: list[str], env: dict[str, str], code: int
) -> None:
    defaults = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    config = ["--config", str(config_with_token(tmp_path))] if args[0] != "demo" else []

    result = run_ingest(*args, *config, env={**defaults, **env}, cwd=tmp_path, timeout=120)

    assert result.returncode == code, (kind, result.stderr)
    line = one_line(result.stderr)
    assert SECRET not in line, kind
    assert line.startswith(("error: ", "config: ")), kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis_url: http://127.0.0.1:6379/0\n", "redis_url: 'http://127.0.0.1:6379/0' - "),
        ("redis_url: redis://127.0.0.1:99999/0\n", "the port must be a number in 1-65535"),
        ("database_url: mysql://u@h/x\n", "unsupported database 'mysql'"),
        ("database_url: postgres+foo://u@h/x\n", "unsupported database 'postgres+foo'"),
        ("database_url: 'postgresql://u@h:notaport/x'\n", "the port must be a number"),
        (
            "providers: [{name: a, type: synthetic, options: {burst_length: true}}]\n",
            "providers[0].options.burst_length: true - must be a number, not a boolean",
        ),
        ("worker: {brokerUrl: 'http://h'}\n", "worker.brokerUrl: 'http://h' - unsupported"),
    ],
)
def test_check_config_rejects_unusable_urls_and_booleans_for_numbers(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)

    problems = [str(problem) for problem in check_config_report(path, {}).problems]

    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_trigger_with_an_http_redis_url_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {"REDIS_URL": "http://127.0.0.1:99999", "DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}

    result = run_ingest("trigger", "x", env=env, timeout=60)

    assert result.returncode == 2
    assert one_line(result.stderr).startswith("config: redis_url (from $REDIS_URL): 'http://")


def hostile_files(tmp_path: Path) -> dict[str, Path]:
    bomb = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    texts = {
        "recursive": "a: &a [*a]\n",
        "alias bomb": "\n".join(bomb) + "\n",
        "deep": "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "large": "a: '" + "x" * (1024 * 1024) + "'\n",
    }
    files = {}
    for name, text in texts.items():
        files[name] = tmp_path / f"{name.replace(' ', '-')}.yaml"
        files[name].write_text(text)
    files["/dev/zero"] = Path("/dev/zero")
    return files


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", ["recursive", "alias bomb", "deep", "large", "/dev/zero"])
def test_a_hostile_config_file_is_one_problem_within_a_second(tmp_path: Path, name: str) -> None:
    path = hostile_files(tmp_path)[name]

    started = time.monotonic()
    problems = check_config_report(path, {}).problems
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert len(problems) == 1
    reasons = ("refused YAML", "nesting depth", "larger than 1 MiB")
    assert any(reason in str(problems[0]) for reason in reasons), problems


def test_check_config_of_dev_zero_is_one_line_and_exit_2() -> None:
    result = run_ingest("check-config", "/dev/zero", timeout=20)

    assert result.returncode == 2
    assert one_line(result.stderr) == "/dev/zero: (too large) - config file is larger than 1 MiB"


def test_an_alias_below_the_bound_still_works(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "providers:\n"
        "  - {name: a, type: synthetic, options: &pacing {burstLength: 20}}\n"
        "  - {name: b, type: synthetic, options: *pacing}\n"
    )

    assert check_config_report(path, {}).problems == []


def test_a_read_only_command_does_not_create_a_missing_sqlite_file_or_its_directory(
    tmp_path: Path,
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.db"

    result = run_ingest("status", "--database-url", f"sqlite:///{target}", timeout=60)

    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"error: no database at {target}")
    assert not (tmp_path / "nonexistent").exists()


def test_an_empty_database_url_is_an_error_not_the_default(tmp_path: Path) -> None:
    result = run_ingest("status", "--database-url", "", cwd=tmp_path, timeout=60)

    assert result.returncode == 2
    assert one_line(result.stderr).startswith("config: database_url: '' - ")
    assert not (tmp_path / "ingest.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["marks", "nope"],
        ["clear-finished", "nope"],
        ["export", "--provider", "nope"],
        ["status", "--provider", "nope"],
        ["status", "--provider", "nope", "--watch", "--json"],
    ],
)
def test_commands_naming_an_unknown_provider_exit_2_with_the_usual_line(
    tmp_path: Path, args: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert run_ingest("migrate", "--database-url", url, timeout=60).returncode == 0

    result = run_ingest(*args, "--database-url", url, timeout=60)

    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "error: unknown provider 'nope'; known providers: (none configured)"
    )


def test_invalid_worker_settings_are_one_line_per_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_CONFIG", raising=False)
    monkeypatch.setenv("INGEST_DETAILS_PER_TASK", "0")
    monkeypatch.setenv("INGEST_TIME_LIMIT_MARGIN", "soon")

    with pytest.raises(ConfigError) as caught:
        WorkerSettings()

    assert sorted(str(problem) for problem in caught.value.problems) == [
        "worker.details_per_task ($INGEST_DETAILS_PER_TASK or the config file): '0' - "
        "Input should be greater than or equal to 1",
        "worker.time_limit_margin ($INGEST_TIME_LIMIT_MARGIN or the config file): 'soon' - "
        "Input should be a valid number, unable to parse string as a number",
    ]


def test_a_worker_with_a_mysql_database_url_refuses_at_start_with_one_line(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DATABASE_URL": f"mysql://u:{SECRET}@127.0.0.1/x"}
    env.pop("INGEST_CONFIG", None)

    result = subprocess.run(
        [sys.executable, "-m", "celery", "--app=workers", "worker", "--pool=solo"],
        cwd=Path(__file__).parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("config: database_url (from $DATABASE_URL): 'mysql://u:***@")
    assert SECRET not in result.stderr
