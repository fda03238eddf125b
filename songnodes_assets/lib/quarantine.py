"""Quarantine of single bad lines: a line that breaks a silver rule is kept (raw line, reason) but gets no
track id and no edge, so one editor's typo never stalls a day. Only a systemic share of bad lines or pages
fails the day (``Thresholds``)."""

from __future__ import annotations

from dataclasses import dataclass

from .contracts import LABEL_IN_TITLE_RE, MARKER_IN_ARTIST_RE
from .parsing.tracklist import Entry

QUARANTINED = "quarantined"


def line_problem(entry: Entry) -> tuple[str, str] | None:
    """(rule, detail) when a parsed entry breaks a silver rule, else None."""
    for name in (*entry.artists, *entry.featured, *entry.remixers):
        if MARKER_IN_ARTIST_RE.match(name):
            return "cue_or_position_in_artist", f"artist {name!r} starts with a cue/position marker"
    if entry.outcome != "unparsed":
        for col in ("title", "title_full"):
            value = getattr(entry, col)
            if isinstance(value, str) and LABEL_IN_TITLE_RE.search(value):
                return "label_in_title", f"{col} {value!r} ends with label text"
    return None


def quarantine(entries: list[Entry]) -> list[tuple[Entry, str, str]]:
    """Turn entries that break a rule into quarantined entries in place (a mashup container and its
    components go together); returns (entry, rule, detail) for each quarantined line."""
    bad_lines: dict[int, tuple[str, str]] = {}
    for e in entries:
        found = line_problem(e)
        if found:
            bad_lines.setdefault(e.component_of if e.component_of is not None else e.line_no, found)
    out = []
    for e in entries:
        key = e.component_of if e.component_of is not None else e.line_no
        if key in bad_lines:
            rule, detail = bad_lines[key]
            e.entry_type, e.outcome, e.is_identified, e.track_id = QUARANTINED, QUARANTINED, False, None
            e.note = f"quarantined ({rule}): {detail}"
            if e.component_of is None:
                out.append((e, rule, detail))
    return out


@dataclass(frozen=True)
class Thresholds:
    """When quarantine stops being "one bad input" and becomes systemic breakage that fails the day."""

    max_bad_line_share: float = 0.05   # quarantined lines / lines with a track credit
    max_bad_page_share: float = 0.25   # pages quarantined or with an empty tracklist section / pages
    max_lines_per_page: int = 10000    # lines of one page parsed; the rest is a page problem
