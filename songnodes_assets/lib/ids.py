"""Deterministic ids. A track id is the same whatever source, order of co-artists, accents or
version attribute ("Extended Mix") a line uses; a remix is a different recording and a different id."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .parsing.text import fold

TRACK_ID_VERSION = "1"


def _digest(key: str, prefix: str) -> str:
    return prefix + hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()


def track_key(artists: Sequence[str], title: str, remixers: Sequence[str], variants: Sequence[str] = (),
              is_mashup: bool = False) -> str:
    """The normalised text a track id hashes (exposed for debugging and tests)."""
    parts = [
        TRACK_ID_VERSION,
        ",".join(sorted({fold(a) for a in artists if fold(a)})),
        fold(title),
        ",".join(sorted({fold(r) for r in remixers if fold(r)})),
        ",".join(sorted({fold(v) for v in variants if fold(v)})),
        "mashup" if is_mashup else "",
    ]
    return "|".join(parts)


def make_track_id(artists: Sequence[str], title: str, remixers: Sequence[str], variants: Sequence[str] = (),
                  is_mashup: bool = False) -> str:
    if len(artists) == 1 and not remixers and not variants and not is_mashup:  # most lines: track_key's shape
        return _digest(f"{TRACK_ID_VERSION}|{fold(artists[0])}|{fold(title)}|||", "t")
    return _digest(track_key(artists, title, remixers, variants, is_mashup), "t")


def mashup_track_id(component_ids: Sequence[str], remixers: Sequence[str] = ()) -> str:
    """A mashup is identified by the set of recordings it combines (and who made it)."""
    key = "|".join([TRACK_ID_VERSION, "mashup", ",".join(sorted(set(component_ids))),
                    ",".join(sorted({fold(r) for r in remixers if fold(r)}))])
    return _digest(key, "t")


def playlist_id(source: str, page_key: str) -> str:
    """A playlist is one page of one source (page_key: the page title or canonical URL path)."""
    return _digest(f"{source}|{page_key.strip().replace(' ', '_')}", "p")
