"""A source's ``schedule``: how long it rests between refreshes.

Seconds as a number (``900``) or a string with a unit (``90s``, ``15m``, ``2h``, ``1d``), from
one minute to one day: it becomes the rest after a complete refresh (``rest_length``, whose
range is 1-1440 minutes), so a refresh starts that long after the previous one ended.
"""

import re
from typing import Any

MIN_SCHEDULE_SECONDS = 60
MAX_SCHEDULE_SECONDS = 24 * 3600
DEFAULT_SCHEDULE_SECONDS = 3600
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def schedule_seconds(value: Any) -> float:
    """The schedule in seconds; ``ValueError`` with what is allowed otherwise."""
    if isinstance(value, bool):
        raise ValueError("must be seconds or an interval like 15m, not a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _INTERVAL.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError("must be seconds (900) or an interval like 90s, 15m, 2h, 1d")
    if not MIN_SCHEDULE_SECONDS <= seconds <= MAX_SCHEDULE_SECONDS:
        raise ValueError(
            f"must be between {MIN_SCHEDULE_SECONDS} seconds and 1 day ({seconds:g} seconds)"
        )
    return seconds
