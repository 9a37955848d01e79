"""The README's "Triggering by enqueuing tasks": the ``curl`` POST to Flower's async-apply API.

The command is taken from README.md itself and run by a shell with ``FLOWER_BASIC_AUTH``
exported, as the README's deployment section does; only the provider name and Flower's port are
the test's. A real worker and Flower run as subprocesses on real Redis and PostgreSQL. (The
README's ``celery --app=workers call`` line is run by test_admin_and_flower.py's trigger test.)
"""

import json
from pathlib import Path

from sqlalchemy import Engine

from tests.support.celery_deployment import Deployment, deployment
from tests.support.operator_commands import (
    FLOWER_AUTH,
    FLOWER_AUTH_ENV,
    FLOWER_USER,
    QUICK,
    README_PROVIDER,
    FlowerProcess,
    logged_result,
    next_quick_pass_completed_before_the_rest_ends,
    quick_pass_resting,
    run_shell,
    running_flower,
    worker_log,
)
from tests.support.readme_commands import readme_command, substituted


def readme_flower_post(
    deployed: Deployment, flower: FlowerProcess, basic_auth: str | None
) -> tuple[int, str]:
    """The README's ``curl`` POST to Flower with ``FLOWER_BASIC_AUTH=basic_auth``; ``None``: the
    same POST without its ``-u`` option. Returns the HTTP status and the body."""
    command = substituted(
        readme_command("curl -u "), {**README_PROVIDER, "http://127.0.0.1:5555": flower.url}
    )
    if basic_auth is None:
        command = substituted(command, {'-u "$FLOWER_BASIC_AUTH" ': ""})
    env = deployed.env() if basic_auth is None else deployed.env(**{FLOWER_AUTH_ENV: basic_auth})
    result = run_shell(f"{command} --silent --show-error --write-out '\\n%{{http_code}}'", env)
    assert result.returncode == 0, f"curl exited {result.returncode}: {result.stderr}"
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def test_the_readmes_flower_post_starts_a_new_pass_with_basic_auth_and_gets_401_without(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [QUICK]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        with running_flower(deployed) as flower:
            first = quick_pass_resting(deployed)

            assert readme_flower_post(deployed, flower, None)[0] == 401
            assert readme_flower_post(deployed, flower, f"{FLOWER_USER}:wrong")[0] == 401
            status, body = readme_flower_post(deployed, flower, FLOWER_AUTH)

            assert status == 200, body
            task_id = json.loads(body)["task-id"]
            next_quick_pass_completed_before_the_rest_ends(deployed, first)
            started = logged_result(deployed, "ingest.start", task_id)
            assert "rest ends now; a new pass opens" in started
            received = [
                line
                for line in worker_log(deployed).splitlines()
                if "Task ingest.start[" in line and "] received" in line
            ]
            assert len(received) == 1, f"a refused POST enqueued a task too: {received}"
            assert task_id in received[0]
