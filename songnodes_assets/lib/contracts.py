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


def _where(row) -> str:
    return f"{row['url']} line {row['line_no']}"


def empty_tracklists(playlists: pd.DataFrame) -> list[str]:
    bad = playlists[playlists["has_tracklist_section"] & (playlists["n_entries"] == 0)]
    return [f"{r['url']}: tracklist section with 0 parsed entries" for _, r in bad.iterrows()]


def markers_in_artists(tracks: pd.DataFrame) -> list[str]:
    out = []
    for _, r in tracks.iterrows():
        for name in list(r["artists"]) + list(r["featured"]) + list(r["remixers"]):
            if MARKER_IN_ARTIST_RE.match(name):
                out.append(f"{_where(r)}: artist {name!r} starts with a cue/position marker")
    return out


def labels_in_titles(tracks: pd.DataFrame) -> list[str]:
    out = []
    for _, r in tracks[tracks["outcome"] != "unparsed"].iterrows():
        for col in ("title", "title_full"):
            value = r[col]
            if isinstance(value, str) and LABEL_IN_TITLE_RE.search(value):
                out.append(f"{_where(r)}: {col} {value!r} ends with label text")
    return out


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
