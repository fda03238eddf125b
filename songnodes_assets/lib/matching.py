"""Candidate scoring: never take the top search result blindly.

Weights follow beets (title 3, artist 2, length 2, matching id 5); duration differences are free
under 10 s and fully penalised from 40 s. A remixer gate comes first: a candidate whose remixers or
variant (VIP, dub…) differ from the track's is rejected outright, so a remix never matches the
original recording. Tiers: strong (distance < 0.04), medium (< 0.25), weak (< 0.40), none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from .parsing.credits import split_artists, split_title_descriptors
from .parsing.text import fold

WEIGHTS = {"title": 3.0, "artist": 2.0, "length": 2.0, "id": 5.0}
TIERS = (("strong", 0.04), ("medium", 0.25), ("weak", 0.40))
ACCEPTED_TIERS = ("strong", "medium")
# Spotify / Beatport style: "Title - X Remix", "Title - Extended Mix", "Title - Remastered 2011"
_DASH_DESCRIPTOR_RE = re.compile(r"^(.*?)\s+-\s+([^-]*\b(?:remix|mix|edit|rework|bootleg|flip|vip|dub|version|"
                                 r"remaster(?:ed)?(?:\s+\d{4})?|mashup)\b[^-]*)$", re.IGNORECASE)


@dataclass
class TrackQuery:
    track_id: str
    artists: list[str]
    title: str
    remixers: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    duration_ms: int | None = None
    isrc: str | None = None

    @property
    def search_title(self) -> str:
        if self.remixers:
            return f"{self.title} ({' & '.join(self.remixers)} Remix)"
        return self.title


@dataclass
class Candidate:
    source_id: str
    artists: list[str]
    title: str
    duration_ms: int | None = None
    isrc: str | None = None
    fields: dict = field(default_factory=dict)


@dataclass
class Match:
    candidate: Candidate | None
    score: float | None  # 1 - distance
    tier: str
    reason: str


def normalise_candidate_title(title: str) -> tuple[str, list[str], list[str]]:
    """(base title, remixers, variants) of a title as a source writes it."""
    m = _DASH_DESCRIPTOR_RE.match(title or "")
    if m:
        title = f"{m.group(1)} ({m.group(2)})"
    base, _, desc = split_title_descriptors(title or "")
    return base, desc.remixers, desc.variants


def _similarity(a: str, b: str) -> float:
    return fuzz.ratio(fold(a), fold(b)) / 100.0


def _artist_similarity(track_artists: list[str], cand_artists: list[str]) -> float:
    ta = [fold(a) for a in track_artists if fold(a)]
    ca = []
    for a in cand_artists:  # sources sometimes give "A & B" as one credit
        ca.extend(fold(x) for x in split_artists(a) if fold(x))
    if not ta or not ca:
        return 0.0
    best = [max(fuzz.ratio(t, c) / 100.0 for c in ca) for t in ta]
    joined = fuzz.token_set_ratio(" ".join(sorted(ta)), " ".join(sorted(ca))) / 100.0
    return max(sum(best) / len(best), joined if len(ta) > 1 else 0.0)


def score(track: TrackQuery, cand: Candidate) -> Match:
    base, remixers, variants = normalise_candidate_title(cand.title)
    if {fold(r) for r in remixers} != {fold(r) for r in track.remixers}:
        return Match(cand, 0.0, "none", f"remixer mismatch: {remixers or 'original'} vs {track.remixers or 'original'}")
    if {v for v in variants if v != "mashup"} != {v for v in track.variants if v != "mashup"}:
        return Match(cand, 0.0, "none", f"variant mismatch: {variants} vs {track.variants}")
    parts = {"title": 1.0 - _similarity(track.title, base), "artist": 1.0 - _artist_similarity(track.artists, cand.artists)}
    weights = {"title": WEIGHTS["title"], "artist": WEIGHTS["artist"]}
    if track.duration_ms and cand.duration_ms:
        diff = abs(track.duration_ms - cand.duration_ms) / 1000.0
        parts["length"] = 0.0 if diff < 10 else min(1.0, (diff - 10) / 30.0)
        weights["length"] = WEIGHTS["length"]
    if track.isrc and cand.isrc and track.isrc.upper() == cand.isrc.upper():
        parts["id"] = 0.0
        weights["id"] = WEIGHTS["id"]
    distance = sum(parts[k] * weights[k] for k in parts) / sum(weights.values())
    tier = next((name for name, limit in TIERS if distance < limit), "none")
    return Match(cand, round(1.0 - distance, 4), tier, ", ".join(f"{k}={v:.2f}" for k, v in parts.items()))


def best_match(track: TrackQuery, candidates: list[Candidate]) -> Match:
    """The best accepted candidate (strong or medium tier), or a Match with candidate None."""
    scored = sorted((score(track, c) for c in candidates), key=lambda m: m.score or 0.0, reverse=True)
    for m in scored:
        if m.tier in ACCEPTED_TIERS:
            return m
    if scored:
        top = scored[0]
        return Match(None, top.score, top.tier, f"no candidate good enough (best: {top.reason})")
    return Match(None, None, "none", "no candidates")
