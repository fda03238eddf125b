"""What every source adapter provides, and the result of looking one track up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from ...matching import Candidate, Match, TrackQuery, best_match
from ...parsing.text import fold
from ..api_client import ApiClient

DAY = 24 * 3600.0
MAX_ARTIST_QUERIES = 4  # the joined credit and up to three credited artists


@dataclass
class LookupResult:
    status: str  # matched | not_found | skipped
    match: Match | None = None
    fields: dict = field(default_factory=dict)
    reason: str | None = None


@dataclass
class SourceConfig:
    """Per-source settings from SONGNODES_<SOURCE>_* variables."""

    name: str
    base_url: str
    enabled: bool
    min_interval_s: float
    credentials: dict[str, str]
    missing_credentials: list[str]
    options: dict[str, str] = field(default_factory=dict)
    success_ttl_s: float = 30 * DAY
    not_found_ttl_s: float = 7 * DAY

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(v for v in self.credentials.values() if v)


class Source:
    name: str = ""
    default_base_url: str = ""
    default_interval_s: float = 1.0  # the documented quota as a minimum spacing
    credential_env: tuple[str, ...] = ()  # all required
    needs_mbid: bool = False

    def __init__(self, config: SourceConfig):
        self.config = config

    # adapters implement this
    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:  # pragma: no cover
        raise NotImplementedError

    def ttl_for(self, found: bool) -> float:
        return self.config.success_ttl_s if found else self.config.not_found_ttl_s

    def by_artist(self, client: ApiClient, track: TrackQuery, ask: Callable[[str], LookupResult],
                  joiner: str = " & ") -> LookupResult:
        """``ask(artist)`` for each of ``query_artists(track)`` in turn, stopping at the first match.

        Guarantees: a one-artist track costs one query, as before; each further query is counted in
        ``client.stats["artist_fallbacks"]`` (and, like every request, in ``calls``); an ``ApiError``
        ends the lookup at once (a failure is never reported as "not found"). With no match, the
        not-found result with the best score is returned, its reason naming the artists tried."""
        artists = query_artists(track, joiner)
        if not artists:
            return LookupResult("not_found", reason="no credited artist to search with")
        tried: list[str] = []
        misses: list[LookupResult] = []
        for artist in artists:
            if tried:
                client.stats["artist_fallbacks"] += 1
            tried.append(artist)
            result = ask(artist)
            if result.status != "not_found":
                return result
            misses.append(result)
        best = max(misses, key=lambda r: (r.match.score or 0.0) if r.match else -1.0)
        if len(tried) > 1:
            best.reason = f"{best.reason or 'not found'} (artists tried: {' | '.join(tried)})"
        return best

    def decide(self, track: TrackQuery, candidates: list[Candidate]) -> LookupResult:
        m = best_match(track, candidates)
        if m.candidate is None:
            return LookupResult("not_found", m, reason=m.reason)
        c = m.candidate
        return LookupResult("matched", m, {"source_id": c.source_id, "isrc": c.isrc, "duration_ms": c.duration_ms,
                                           "matched_artist": " & ".join(c.artists), "matched_title": c.title,
                                           **c.fields})


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: expected on/off, true/false or 1/0")


def load_config(source_cls: type[Source]) -> SourceConfig:
    prefix = f"SONGNODES_{source_cls.name.upper()}_"
    creds = {env: os.environ.get(env, "").strip() for env in source_cls.credential_env}
    raw_interval = os.environ.get(prefix + "MIN_INTERVAL_S", "").strip()
    try:
        interval = float(raw_interval) if raw_interval else source_cls.default_interval_s
    except ValueError as exc:
        raise ValueError(f"{prefix}MIN_INTERVAL_S={raw_interval!r} is not a number") from exc
    options = {k[len(prefix):].lower(): v for k, v in os.environ.items()
               if k.startswith(prefix) and k not in source_cls.credential_env}
    return SourceConfig(
        name=source_cls.name,
        base_url=(os.environ.get(prefix + "BASE_URL", "").strip() or source_cls.default_base_url).rstrip("/"),
        enabled=env_bool(prefix + "ENABLED", True),
        min_interval_s=max(0.0, interval),
        credentials=creds,
        missing_credentials=[k for k, v in creds.items() if not v],
        options=options,
    )


def query_artists(track: TrackQuery, joiner: str = " & ") -> list[str]:
    """The artist strings to search a track's catalogue entry with, in order: the whole credit joined
    ("A & B"; a catalogue may list the collaboration under that name), then each credited artist.
    Blanks and repeats (by folded form) dropped; at most ``MAX_ARTIST_QUERIES``."""
    names = [a.strip() for a in track.artists if a and a.strip()]
    out: list[str] = []
    seen: set[str] = set()
    for name in ([joiner.join(names)] if len(names) > 1 else []) + names:
        key = fold(name)
        if key and key not in seen:
            seen.add(key)
            out.append(name)
    return out[:MAX_ARTIST_QUERIES]


def artist_fields(credits, name_of, id_of) -> dict:
    """``artist_names`` / ``artist_ids`` of a matched record from its list of credited artists (each a dict;
    ``name_of``/``id_of`` read one): aligned lists, ``""`` where the source gives no id, nameless credits
    dropped. Not a list (a source without artist objects): both empty."""
    names, ids = [], []
    for c in credits if isinstance(credits, list) else []:
        if not isinstance(c, dict):
            continue
        name = name_of(c)
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
            ident = id_of(c)
            ids.append(str(ident).strip() if isinstance(ident, (str, int)) and not isinstance(ident, bool) else "")
    return {"artist_names": names, "artist_ids": ids}


def first(items, default=None):
    return items[0] if isinstance(items, list) and items else default
