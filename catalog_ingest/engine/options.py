"""Per-provider ingestion options: same meaning, units and ranges as Backstage's reference.

Keys are accepted in snake_case and in the reference's camelCase (``burstLength``...).
"""

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

DEFAULT_BACKOFF_SECONDS: tuple[float, ...] = (30, 60, 300, 1800)

Seconds = Annotated[float, Field(gt=0, le=7 * 24 * 3600)]
DEFAULT_MAX_ENTITY_BYTES = 1024 * 1024
NUMBER_FIELDS = (
    "burst_length",
    "burst_interval",
    "rest_length",
    "reject_removals_above_percentage",
    "chunk_size",
    "max_concurrent_requests",
    "batch_delay_ms",
    "max_pending_pages",
    "pending_page_timeout",
    "max_entity_bytes",
    "ttl_seconds",
)


def reject_booleans(value: Any) -> Any:
    """A number field refuses ``true``/``false``: pydantic would read them as 1 and 0."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not a boolean ({str(value).lower()})")
    return value


def _human_duration_seconds(value: Any) -> Any:
    """Accept Backstage's HumanDuration objects (``{minutes: 5}``) where seconds are expected."""
    if not isinstance(value, dict):
        return value
    units = {"milliseconds": 0.001, "seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
    unknown = set(value) - set(units)
    if unknown:
        raise ValueError(f"unknown duration unit(s) {sorted(unknown)}; use {sorted(units)}")
    try:
        return sum(float(value[unit]) * factor for unit, factor in units.items() if unit in value)
    except (TypeError, ValueError):
        raise ValueError(f"duration amounts must be numbers, got {value!r}") from None


class ProviderOptions(BaseModel):
    """How one provider's ingestion is paced and guarded."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    burst_length: float = Field(10, ge=1, le=300, description="Seconds a burst may run.")
    burst_interval: float = Field(30, ge=5, le=300, description="Seconds between bursts.")
    rest_length: float = Field(30, ge=1, le=1440, description="Minutes of rest after a pass.")
    backoff: tuple[Seconds, ...] = Field(
        DEFAULT_BACKOFF_SECONDS,
        min_length=1,
        description="Seconds to wait after the 1st, 2nd, ... consecutive failure (last repeats).",
    )
    reject_removals_above_percentage: float | None = Field(
        None, ge=0, le=100, description="Refuse a sweep removing more than this share (0 = never)."
    )
    reject_empty_source_collections: bool = Field(
        False, description="Refuse a sweep after a pass that saw no entities."
    )
    chunk_size: int = Field(100, ge=1, le=512, description="Upstream page size (`limit`).")
    max_concurrent_requests: int = Field(
        5, ge=1, le=50, description="Upstream detail calls in flight across all workers."
    )
    batch_delay_ms: int = Field(
        100, ge=0, le=10000, description="Milliseconds a concurrency slot rests after a call."
    )
    max_pending_pages: int = Field(
        4,
        ge=1,
        le=1000,
        description="Pages waiting for detail calls before a burst stops listing (backpressure).",
    )
    pending_page_timeout: float = Field(
        300,
        ge=5,
        le=86400,
        description="Seconds after which a page still waiting for details is dispatched again.",
    )
    max_entity_bytes: int = Field(
        DEFAULT_MAX_ENTITY_BYTES,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest entity (canonical JSON bytes) stored; a larger one is rejected.",
    )

    ttl_seconds: int | None = Field(
        None,
        ge=1,
        le=10 * 365 * 24 * 3600,
        description="A record expires this long after its last refresh (none: never).",
    )
    merge: Literal["deep", "replace"] = Field(
        "deep",
        description="deep: merged field by field with other sources; replace: whole or not at all.",
    )

    @field_validator(*NUMBER_FIELDS, mode="before")
    @classmethod
    def _numbers_not_booleans(cls, value: Any) -> Any:
        return reject_booleans(value)

    @field_validator("burst_length", "burst_interval", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        return _human_duration_seconds(value)

    @field_validator("rest_length", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return _human_duration_seconds(value) / 60
        return value

    @field_validator("backoff", mode="before")
    @classmethod
    def _backoff(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(_human_duration_seconds(reject_booleans(item)) for item in value)
        return value

    @property
    def pending_page_timeout_delta(self) -> timedelta:
        return timedelta(seconds=self.pending_page_timeout)

    @property
    def batch_delay(self) -> float:
        """Seconds a request slot rests after each call."""
        return self.batch_delay_ms / 1000

    @property
    def burst_length_delta(self) -> timedelta:
        return timedelta(seconds=self.burst_length)

    @property
    def burst_interval_delta(self) -> timedelta:
        return timedelta(seconds=self.burst_interval)

    @property
    def rest_length_delta(self) -> timedelta:
        return timedelta(minutes=self.rest_length)

    def backoff_delay(self, failures: int) -> timedelta:
        """Delay after the ``failures``-th consecutive failure (1-based); the last one repeats."""
        index = min(max(failures, 1), len(self.backoff)) - 1
        return timedelta(seconds=self.backoff[index])
