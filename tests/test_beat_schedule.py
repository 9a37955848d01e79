"""Beat ticks each configured provider at its burst interval, with expiring ticks."""

from beat_schedule import EXPIRY_SECONDS, build_beat_schedule
from catalog_ingest.app.config.schema import AppConfig
from workers import task_names
from workers.celery_app import create_app
from workers.queues import ALL_QUEUES


def test_one_expiring_tick_per_provider_at_its_burst_interval() -> None:
    config = AppConfig.model_validate(
        {
            "providers": [
                {"name": "a", "type": "synthetic", "options": {"burstInterval": 45}},
                {"name": "b", "type": "synthetic"},
            ],
            "openchoreo": {"baseUrl": "https://choreo.example", "incremental": {}},
        }
    )
    schedule = build_beat_schedule(config)
    assert set(schedule) == {"tick a", "tick b", "tick openchoreo"}
    assert schedule["tick a"] == {
        "task": task_names.TICK,
        "schedule": 45,
        "args": ("a",),
        "options": {"expires": 45},
    }
    assert schedule["tick b"]["schedule"] == 30


def test_every_task_the_workers_register_is_routed_to_one_of_their_queues() -> None:
    app = create_app(AppConfig())
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if name.startswith("ingest.")}
    declared = {value for name, value in vars(task_names).items() if name.isupper()}
    assert registered == declared
    for name in registered:
        assert app.amqp.router.route({}, name)["queue"].name in ALL_QUEUES
    assert app.amqp.router.route({}, task_names.TICK)["queue"].name == "ingest"
    assert app.amqp.router.route({}, task_names.DETAIL)["queue"].name == "details"
    assert app.amqp.router.route({}, task_names.CLEANUP)["queue"].name == "admin"
    assert app.amqp.router.route({}, task_names.EXPIRE)["queue"].name == "admin"


def test_beat_runs_the_expiry_every_minute_whatever_the_providers() -> None:
    app = create_app(AppConfig())
    entry = app.conf.beat_schedule["expire"]
    assert entry["task"] == task_names.EXPIRE
    assert entry["schedule"] == EXPIRY_SECONDS == 60


def test_beat_runs_the_read_api_projection_every_five_seconds_on_the_admin_queue() -> None:
    app = create_app(AppConfig())
    entry = app.conf.beat_schedule["project"]
    assert entry["task"] == task_names.PROJECT
    assert entry["schedule"] == entry["options"]["expires"] == 5
    assert app.amqp.router.route({}, task_names.PROJECT)["queue"].name == "admin"
