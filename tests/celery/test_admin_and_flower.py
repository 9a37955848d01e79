"""Operator commands enqueue admin tasks that real workers apply; Flower lists them, with auth.

Every command runs as an operator would run it (``python -m cli ... --config PATH``, in a
subprocess; a trigger also as the README's ``celery call`` line); workers and Flower are real
subprocesses on real Redis and PostgreSQL.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from models.tables import bursts
from tests.support.celery_deployment import Deployment, deployment, wait_for
from tests.support.operator_commands import (
    FLOWER_AUTH,
    FLOWER_AUTH_ENV,
    FLOWER_PASSWORD,
    FLOWER_USER,
    PACING,
    PROVIDER,
    QUICK,
    FlowerProcess,
    admin_command,
    command_env,
    enqueued_task_id,
    first_cursor,
    ingestion_ids,
    ingestion_row,
    logged_result,
    next_quick_pass_completed_before_the_rest_ends,
    open_with,
    quick_pass_resting,
    readme_celery_call,
    run_ingest_commands,
    running_flower,
    ticking_until,
    wait_for_live_events,
    where,
    worker_log,
)

SLOW_PAGE_SIZE = 10
SLOW = {
    "name": PROVIDER,
    "type": "synthetic",
    "options": PACING,
    "settings": {"entities": 600, "page_size": SLOW_PAGE_SIZE, "page_delay_ms": 300, "seed": 7},
}
"""60 pages of 300 ms: about 4 pages per 1 s burst and a burst every 5 s, so a pass takes
minutes and is always running while a test acts on it."""


def burst_count(deployed: Deployment, ingestion_id: str) -> int:
    with deployed.database.connect() as connection:
        return len(
            connection.execute(
                select(bursts.c.id).where(bursts.c.ingestion_id == ingestion_id)
            ).all()
        )


def ingest_trigger(deployed: Deployment) -> str:
    return admin_command(deployed, "trigger", PROVIDER)


@pytest.mark.parametrize(
    "send_trigger", [ingest_trigger, readme_celery_call], ids=["ingest-trigger", "celery-call"]
)
def test_trigger_from_the_cli_ends_a_one_minute_rest_at_once_and_the_next_pass_completes(
    tmp_path: Path,
    database: Engine,
    database_url: str,
    redis_url: str,
    send_trigger: Callable[[Deployment], str],
) -> None:
    """``ingest trigger synth``, or the README's ``celery --app=workers call ingest.trigger``."""
    with deployment(tmp_path, database, database_url, redis_url, [QUICK]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        first = quick_pass_resting(deployed)

        task_id = send_trigger(deployed)

        next_quick_pass_completed_before_the_rest_ends(deployed, first)
        assert "is due now" in logged_result(deployed, "ingest.trigger", task_id)


def test_start_from_the_cli_cancels_the_running_pass_and_a_fresh_pass_progresses(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [SLOW]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        running = ticking_until(
            deployed, lambda: open_with(deployed, lambda row: row.pages >= 1), 60, "a first page"
        )

        task_id = admin_command(deployed, "start", PROVIDER)

        fresh = ticking_until(
            deployed,
            lambda: open_with(deployed, lambda row: row.id != running.id and row.pages >= 1),
            60,
            "a new pass to open and commit pages after the start",
        )
        started = logged_result(deployed, "ingest.start", task_id)
        assert "the running pass is canceled; a new one opens" in started
        log_lines = worker_log(deployed).splitlines()
        canceled = [line for line in log_lines if "'action': 'canceled'" in line]
        assert any(fresh.id in line for line in canceled), "no burst reported the cancellation"
        assert first_cursor(deployed, fresh.id) == {"next": SLOW_PAGE_SIZE}, "not a fresh pass"
        assert fresh.next_action == "ingest"

        closed = ingestion_row(deployed, running.id)
        assert closed is not None, (
            "the canceled ingestion record was deleted as soon as it was closed; the state table "
            "(README, engine docstring) only clears finished records when a rest completes"
        )
        assert (closed.status, closed.next_action) == ("complete", "nothing (canceled)")
        assert closed.completion_ticket != "open"
        assert closed.rest_completed_at is None


def test_reset_from_the_cli_forgets_the_ingestion_records_but_keeps_the_catalog(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [SLOW]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        running = ticking_until(
            deployed, lambda: open_with(deployed, lambda row: row.pages >= 2), 60, "two pages"
        )
        before = ingestion_ids(deployed)
        ingested = deployed.catalog_refs()
        assert before == {running.id}
        assert len(ingested) >= 2 * SLOW_PAGE_SIZE

        task_id = admin_command(deployed, "reset", PROVIDER)

        fresh = ticking_until(
            deployed,
            lambda: open_with(deployed, lambda row: row.id not in before and row.pages >= 1),
            60,
            "a fresh pass to open and commit pages after the reset",
        )
        assert "purged 1 ingestion record(s); fresh pass" in logged_result(
            deployed, "ingest.reset", task_id
        )
        assert ingestion_ids(deployed) & before == set()
        assert deployed.sequences(running.id) == []
        assert first_cursor(deployed, fresh.id) == {"next": SLOW_PAGE_SIZE}, "not a fresh pass"
        assert ingested <= deployed.catalog_refs()


def test_cleanup_from_the_cli_leaves_the_provider_paused_and_ticks_do_nothing_until_a_trigger(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [SLOW]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        ticking_until(
            deployed,
            lambda: open_with(
                deployed, lambda row: row.pages >= 1 and row.status == "interstitial"
            ),
            60,
            "a first burst to end",
        )
        before = ingestion_ids(deployed)

        cleanup_id = admin_command(deployed, "cleanup", None)

        paused = wait_for(
            lambda: open_with(deployed, lambda row: row.id not in before),
            30,
            "cleanup to replace the ingestion",
        )
        assert "purged; paused until triggered" in logged_result(
            deployed, "ingest.cleanup", cleanup_id
        )
        assert (paused.status, paused.next_action, paused.pages) == ("paused", "pause", 0)
        assert ingestion_ids(deployed) == {paused.id}

        assert paused.next_action_at <= datetime.now(UTC), "a tick would find it due but paused"
        for tick_id in [deployed.send("ingest.tick", PROVIDER) for _ in range(3)]:
            assert "'action': 'not due'" in logged_result(deployed, "ingest.tick", tick_id)
        still = deployed.open_ingestion(PROVIDER)
        assert (still.id, still.next_action, still.pages) == (paused.id, "pause", 0)
        assert burst_count(deployed, paused.id) == 0

        trigger_id = admin_command(deployed, "trigger", PROVIDER)

        resumed = ticking_until(
            deployed,
            lambda: open_with(deployed, lambda row: row.pages >= 1),
            60,
            "pages after trigger",
        )
        assert "unpaused" in logged_result(deployed, "ingest.trigger", trigger_id)
        assert (resumed.id, resumed.next_action) == (paused.id, "ingest")
        assert burst_count(deployed, paused.id) >= 1


def test_every_admin_task_sent_from_the_cli_is_listed_by_flower_with_its_args_behind_basic_auth(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    """``trigger``, ``start``, ``reset`` (with their provider) and ``cleanup`` (without one)."""
    with deployment(tmp_path, database, database_url, redis_url, [QUICK]) as deployed:
        deployed.start_worker("w1", concurrency=2)
        with running_flower(deployed) as flower:
            wait_for_live_events(deployed, flower)

            commands = {"trigger": PROVIDER, "start": PROVIDER, "reset": PROVIDER, "cleanup": None}
            results = run_ingest_commands(
                deployed, *((action, arg) if arg else (action,) for action, arg in commands.items())
            )
            sent = {
                enqueued_task_id(result, f"ingest.{action}", provider): (
                    f"ingest.{action}",
                    f"('{provider}',)" if provider else "()",
                )
                for (action, provider), result in zip(commands.items(), results, strict=True)
            }

            def all_listed_as_succeeded() -> dict[str, dict[str, Any]] | None:
                tasks = flower.tasks()
                done = all(tasks.get(task_id, {}).get("state") == "SUCCESS" for task_id in sent)
                bursts_done = any(
                    task["name"] == "ingest.burst" and task["state"] == "SUCCESS"
                    for task in tasks.values()
                )
                return tasks if done and bursts_done else None

            tasks = wait_for(
                all_listed_as_succeeded, 30, f"flower to list {sorted(sent.values())}", every=0.5
            )
            for task_id, (name, args) in sent.items():
                assert (tasks[task_id]["name"], tasks[task_id]["args"]) == (name, args)
            for name in ("ingest.tick", "ingest.burst"):
                assert any(
                    task["name"] == name and f"'{PROVIDER}'" in task["args"]
                    for task in tasks.values()
                ), f"no {name} task for {PROVIDER} in flower's list"

            assert flower.get("/api/tasks", auth=None).status_code == 401
            assert flower.get("/api/tasks", auth=(FLOWER_USER, "wrong")).status_code == 401
            assert flower.get("/api/tasks", auth=(FLOWER_USER, FLOWER_PASSWORD)).status_code == 200


def test_flower_without_a_user_and_password_in_its_environment_exits_2_with_a_one_line_error(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [QUICK]) as deployed:
        refused = {"unset": None, "no colon": "user", "no password": "user:", "no user": ":secret"}
        processes = {
            case: FlowerProcess.start(
                deployed,
                command_env(deployed)
                if auth is None
                else command_env(deployed, **{FLOWER_AUTH_ENV: auth}),
                log_name=f"flower-{case.replace(' ', '-')}.log",
            )
            for case, auth in refused.items()
        }
        try:
            for case, flower in processes.items():
                assert flower.process.wait(30) == 2, f"{case}: {flower.log()}"
                lines = flower.log().strip().splitlines()
                assert lines == [
                    "error: set FLOWER_BASIC_AUTH=user:password; Flower never runs without auth"
                ], case
        finally:
            for flower in processes.values():
                flower.stop()


def test_flower_started_with_a_config_option_watches_the_broker_of_that_file(
    tmp_path: Path, database: Engine, database_url: str, redis_url: str
) -> None:
    with deployment(tmp_path, database, database_url, redis_url, [QUICK]) as deployed:
        flower_env = command_env(deployed, **{FLOWER_AUTH_ENV: FLOWER_AUTH})
        with running_flower(deployed, flower_env) as flower:
            assert flower.broker() == where(redis_url), (
                f"flower watches another broker than --config's {redis_url}:\n{flower.log()}"
            )
