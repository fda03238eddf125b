"""Cue markers in front of a tracklist line: ``[07]``, ``[1:02:30]``, ``[0??]``, ``[4?:??]``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# A cue is 1-3 digits/question marks, optionally followed by up to two ":xx" groups.
CUE_RE = re.compile(r"^\s*\[\s*([0-9?][0-9?:.]{0,11})\s*\]\s*")
# Position numbers people put in front ("01.", "1)", "01 -" when another separator follows).
POSITION_RE = re.compile(r"^\s*(\d{1,3})[.)](?:\s+|(?=[^\d\s.]))")
POSITION_DASH_RE = re.compile(r"^\s*(\d{1,3})\s+-\s+(?=.*\s-\s)")
# A bare timestamp in front without brackets ("00:00 Artist - Title", 1001tracklists exports).
BARE_TIME_RE = re.compile(r"^\s*(\d{1,3}:\d{2}(?::\d{2})?)\s+(?=\S)")

# The longest set people upload is ~24 h; anything beyond is treated as unknown.
MAX_CUE_SECONDS = 48 * 3600


@dataclass(frozen=True)
class Cue:
    raw: str
    seconds: int | None
    valid: bool  # False when the marker is well-formed but impossible (e.g. "019:95")


def parse_cue_value(raw: str) -> Cue:
    """Seconds for a cue body (without brackets). Bare numbers are minutes (MixesDB convention)."""
    body = raw.replace(".", ":")
    parts = body.split(":")
    if len(parts) > 3 or any(not p for p in parts) or len(parts[0]) > 3 or any(len(p) > 2 for p in parts[1:]):
        return Cue(raw, None, False)  # "[9999:99]", "[1:2:3:4]": a marker, but not a time
    if "?" in body:
        return Cue(raw, None, True)
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        return Cue(raw, None, False)
    if len(nums) == 1:
        seconds = nums[0] * 60
    elif len(nums) == 2:
        minutes, secs = nums
        if secs >= 60:
            return Cue(raw, None, False)
        seconds = minutes * 60 + secs
    else:
        hours, minutes, secs = nums
        if minutes >= 60 or secs >= 60:
            return Cue(raw, None, False)
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds > MAX_CUE_SECONDS:
        return Cue(raw, None, False)
    return Cue(raw, seconds, True)


_MARKER_STARTS = frozenset("[0123456789")
# Cue bodies are a small set ("012", "1:02:30", "??"); a Cue is immutable, so equal bodies share one.
_cue_value = functools.lru_cache(maxsize=65_536)(parse_cue_value)


def take_leading_markers(text: str) -> tuple[str, Cue | None, int | None]:
    """Strip cue and position markers from the front of a line, in any order.

    Returns the rest of the line, the cue (or None) and the written position number (or None).
    """
    cue: Cue | None = None
    position: int | None = None
    for _ in range(3):
        if text.lstrip()[:1] not in _MARKER_STARTS:  # every marker starts with "[" or a digit
            break
        m = CUE_RE.match(text)
        if m and cue is None:
            cue = _cue_value(m.group(1))
            text = text[m.end():]
            continue
        m = POSITION_RE.match(text) or POSITION_DASH_RE.match(text)
        if m and position is None:
            position = int(m.group(1))
            text = text[m.end():]
            continue
        m = BARE_TIME_RE.match(text)
        if m and cue is None:
            cue = _cue_value(m.group(1))
            text = text[m.end():]
            continue
        break
    return text, cue, position
