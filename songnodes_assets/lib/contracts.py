"""What must never be in silver. Each function returns the offending rows as readable strings
(URL and line), empty when the contract holds."""

from __future__ import annotations

import re

import pandas as pd

from .parsing.line import LABEL_TAIL_RE
from .schemas import TableSpec

# "[7?] W", "[01:02] X", "01. X", "12) X": a cue or position marker that reached an artist name.
MARKER_IN_ARTIST_RE = re.compile(r"^\s*(?:\[\s*[0-9?][0-9?:.]*\s*\]|\d{1,3}[.)]\s|\d{1,3}:\d{2}\s)")
# "[Label]", "[Label - CAT]" or the "(Label]" typo left at the end of a title.
LABEL_IN_TITLE_RE = LABEL_TAIL_RE


def empty_tracklists(playlists: pd.DataFrame) -> list[str]:
    bad = playlists[playlists["has_tracklist_section"] & (playlists["n_entries"] == 0)]
    return [f"{r['url']}: tracklist section with 0 parsed entries" for _, r in bad.iterrows()]


def _kept(tracks: pd.DataFrame) -> pd.DataFrame:
    return tracks[tracks["outcome"] != "quarantined"] if "outcome" in tracks else tracks


def markers_in_artists(tracks: pd.DataFrame) -> list[str]:
    """Kept (not quarantined) entries whose artist, featured or remixer starts with a cue/position marker."""
    out = []
    kept = _kept(tracks)
    for url, line_no, *names in zip(kept["url"], kept["line_no"], kept["artists"], kept["featured"], kept["remixers"]):
        for name in (n for group in names for n in group):
            if MARKER_IN_ARTIST_RE.match(name):
                out.append(f"{url} line {line_no}: artist {name!r} starts with a cue/position marker")
    return out


def labels_in_titles(tracks: pd.DataFrame) -> list[str]:
    """Kept parsed entries whose title ends with label text."""
    out = []
    kept = _kept(tracks)
    kept = kept[kept["outcome"] != "unparsed"]
    for col in ("title", "title_full"):
        values = kept[col].astype("string")
        hit = values.str.contains(LABEL_IN_TITLE_RE, na=False)
        for url, line_no, value in zip(kept.loc[hit, "url"], kept.loc[hit, "line_no"], values[hit]):
            out.append(f"{url} line {line_no}: {col} {value!r} ends with label text")
    return out


def share_over(bad: int, total: int, limit: float, what: str) -> list[str]:
    """One problem when ``bad / total`` exceeds ``limit``: the breakage is systemic, not one bad input."""
    if total and bad / total > limit:
        return [f"{bad} of {total} {what} quarantined ({bad / total:.1%} > {limit:.0%}): systemic, see silver.problems"]
    return []


def duplicate_keys(df: pd.DataFrame, key: list[str]) -> list[str]:
    if df.empty:
        return []
    dup = df[df.duplicated(key, keep=False)]
    return [duplicate_key_message(dict(zip(key, k)), n) for k, n in dup.groupby(key, dropna=False).size().items()]


def duplicate_key_message(key: dict, rows: int) -> str:
    return f"duplicate key {key} ({rows} rows)"


def self_loops(transitions: pd.DataFrame) -> list[str]:
    loops = transitions[transitions["from_track_id"] == transitions["to_track_id"]] if len(transitions) else transitions
    return [f"playlist {r.playlist_id} line {r.to_line_no}: {r.from_track_id} -> itself"
            for r in loops.itertuples(index=False)]


def entries_drop(previous: int | None, now: int, keep_share: float = 0.8) -> list[str]:
    """A rebuild that keeps fewer than ``keep_share`` of the entries of the build it replaces."""
    if previous and now < keep_share * previous:
        return [f"{now} entries, the build it replaces had {previous}: {1 - now / previous:.0%} lost"]
    return []


def unknown_columns(spec: TableSpec, stored: dict[str, list[str]]) -> list[str]:
    """Stored files whose columns differ from the contract (unknown, missing or reordered)."""
    out = []
    for path, cols in stored.items():
        if cols != spec.column_names:
            extra = [c for c in cols if c not in spec.column_names]
            missing = [c for c in spec.column_names if c not in cols]
            out.append(f"{path}: unknown columns {extra}, missing {missing}" if extra or missing
                       else f"{path}: columns out of contract order")
    return out
