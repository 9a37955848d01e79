"""Worker-process settings (pydantic-settings), on top of the application config file."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """Celery-side knobs; environment variables ``INGEST_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    broker_url: str | None = Field(
        None, description="Celery broker; defaults to the config's redis_url."
    )
    time_limit_margin: float = Field(
        15.0, ge=1, le=600, description="Seconds between burst length, soft, hard limit, lock TTL."
    )
    visibility_timeout: int = Field(
        3600, ge=60, description="Redis transport: seconds before an unacked task is redelivered."
    )
    detail_time_limit: float = Field(
        900,
        ge=30,
        le=3000,
        description="Seconds a detail task may take (slot waits and retries included).",
    )
    details_per_task: int = Field(
        10, ge=1, le=100, description="Deferred items (detail calls) per child task."
    )
    request_slot_lease: float = Field(
        120,
        ge=5,
        le=3600,
        description="Seconds after which a request slot of a dead holder frees itself.",
    )
