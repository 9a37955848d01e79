"""Beat ticks each configured provider at its burst interval, with expiring ticks."""

from beat_schedule import TICK_TASK, build_beat_schedule
from catalog_ingest.app.configuration import AppConfig


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
        "task": TICK_TASK,
        "schedule": 45,
        "args": ("a",),
        "options": {"expires": 45, "queue": "ingest"},
    }
    assert schedule["tick b"]["schedule"] == 30
