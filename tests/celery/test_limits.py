"""Burst time limits and lock TTL are ordered; the broker's visibility timeout must outlive them.

Pure unit tests of ``workers/limits.py``, plus the check as ``create_app`` applies it.
"""

import itertools

import pytest

from catalog_ingest.app.config.schema import AppConfig
from catalog_ingest.engine.options import ProviderOptions
from workers.celery_app import create_app
from workers.limits import BurstLimits, DetailLimits, check_visibility_timeout
from workers.worker_settings import WorkerSettings

BURST_LENGTHS = [1, 10, 45.5, 300]
"""Seconds: the smallest and largest burst length the options accept, and two in between."""
MARGINS = [1, 15, 600]
"""Seconds: the smallest, default and largest ``INGEST_TIME_LIMIT_MARGIN``."""


def limits(burst_length: float, margin: float = 15) -> BurstLimits:
    return BurstLimits.for_options(ProviderOptions(burst_length=burst_length), margin)


@pytest.mark.parametrize("margin", MARGINS)
@pytest.mark.parametrize("burst_length", BURST_LENGTHS)
def test_the_soft_limit_is_the_burst_length_plus_the_margin_and_stays_below_hard_and_lock_ttl(
    burst_length: float, margin: float
) -> None:
    burst = limits(burst_length, margin)

    assert burst.soft == burst_length + margin
    assert burst_length < burst.soft < burst.hard < burst.lock_ttl
    assert burst.hard - burst.soft >= margin, "a task ignoring its soft limit lives a margin more"
    assert burst.lock_ttl - burst.hard >= margin, "the lock outlives a hard-killed task by a margin"


def test_longer_bursts_get_longer_limits_at_every_step() -> None:
    ordered = [limits(length) for length in BURST_LENGTHS]
    for shorter, longer in itertools.pairwise(ordered):
        assert shorter.soft < longer.soft
        assert shorter.hard < longer.hard
        assert shorter.lock_ttl < longer.lock_ttl


PROVIDERS = [limits(10), limits(300), limits(1)]
LONGEST_TTL = limits(300).lock_ttl  # 345 s


@pytest.mark.parametrize(
    "visibility_timeout",
    [LONGEST_TTL, LONGEST_TTL - 1, limits(300).hard + 1, limits(10).lock_ttl + 1, 60],
    ids=["equal", "one-second-below", "above-hard-below-ttl", "above-a-shorter-ttl", "sixty"],
)
def test_a_visibility_timeout_not_above_the_longest_lock_ttl_is_refused_with_both_numbers(
    visibility_timeout: float,
) -> None:
    with pytest.raises(ValueError) as refused:
        check_visibility_timeout(PROVIDERS, visibility_timeout)

    message = str(refused.value)
    assert message.startswith(
        f"visibility_timeout ({visibility_timeout:g}s) must exceed the longest lock TTL or "
        f"detail task limit ({LONGEST_TTL:g}s)"
    )
    assert "INGEST_VISIBILITY_TIMEOUT" in message


@pytest.mark.parametrize("visibility_timeout", [LONGEST_TTL + 1, 3600])
def test_a_visibility_timeout_above_the_longest_lock_ttl_is_accepted(
    visibility_timeout: float,
) -> None:
    check_visibility_timeout(PROVIDERS, visibility_timeout)  # does not raise


def test_a_detail_task_limit_longer_than_every_lock_ttl_is_the_bound_to_exceed() -> None:
    detail = DetailLimits.for_settings(900, 15)  # hard limit 915 s

    check_visibility_timeout(PROVIDERS, detail.hard + 1, detail)
    with pytest.raises(ValueError, match=r"\(915s\)"):
        check_visibility_timeout(PROVIDERS, detail.hard, detail)


def config_with_burst_lengths(*lengths: float) -> AppConfig:
    return AppConfig.model_validate(
        {
            "database_url": "sqlite:///unused.db",
            "providers": [
                {"name": f"p{i}", "type": "synthetic", "options": {"burst_length": length}}
                for i, length in enumerate(lengths)
            ],
        }
    )


def test_the_celery_app_is_not_built_with_a_visibility_timeout_not_above_every_lock_ttl() -> None:
    """The check runs where the app is built (``workers/celery_app.py``): the worker never starts
    with a timeout that would redeliver a running burst to a second worker."""
    config = config_with_burst_lengths(10, 300)

    def settings(visibility_timeout: int) -> WorkerSettings:
        return WorkerSettings(
            visibility_timeout=visibility_timeout,
            time_limit_margin=15,
            detail_time_limit=30,  # a detail task's hard limit (45 s) is below the lock TTL
        )

    with pytest.raises(ValueError, match=r"visibility_timeout \(345s\) must exceed .* \(345s\)"):
        create_app(config, settings(345))
    app = create_app(config, settings(346))
    assert app.conf.broker_transport_options == {"visibility_timeout": 346}
    app.close()
