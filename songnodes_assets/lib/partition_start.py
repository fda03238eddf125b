"""The first daily partition: ``SONGNODES_PARTITIONS_START`` (YYYY-MM-DD, UTC), validated."""

from __future__ import annotations

import datetime as dt
import os

DEFAULT_START = "2024-01-01"
ENV = "SONGNODES_PARTITIONS_START"


def parse_day(raw: str, name: str = ENV) -> str:
    """A YYYY-MM-DD day not after today (UTC), as text; a clear error names the setting."""
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a date (YYYY-MM-DD)") from exc
    if len(raw.strip()) != 10:
        raise ValueError(f"{name}={raw!r} is not a date (YYYY-MM-DD)")
    if day > dt.datetime.now(dt.timezone.utc).date():
        raise ValueError(f"{name}={raw!r} is in the future: the first partition must be today or earlier")
    if day.year < 1990:
        raise ValueError(f"{name}={raw!r} is before 1990: no tracklist was published on the web then")
    return day.isoformat()


def partitions_start(environ=os.environ) -> str:
    raw = environ.get(ENV, "")
    return parse_day(raw) if raw.strip() else DEFAULT_START
