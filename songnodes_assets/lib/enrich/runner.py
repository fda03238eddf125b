"""Enrich a partition's tracks from one source: one outcome row per track, never a lost one.

Status per track: matched | not_found | failed (error_class, is_retriable) | skipped (source off, no
credentials, no MusicBrainz id). The source counts as *down* when its credentials are rejected, its
circuit breaker opened, or most calls failed; the caller then fails the partition after saving rows.

Secrets never reach a row or a log line: every text value of every outcome row (``match_reason``,
``error``, ``matched_*``, tags, genres …) and every log message pass through the client's redactor.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ..matching import TrackQuery
from .api_client import ApiClient, ApiError, AuthRejected, BadResponse, CircuitOpen
from .sources.base import LookupResult, Source

SOURCE_VERSION = "1"
FIELD_DEFAULTS = {"source_id": None, "isrc": None, "bpm": None, "key_pitch_class": None, "mode": None,
                  "genres": [], "tags": [], "label": None, "catalog_number": None, "release_date": None,
                  "duration_ms": None, "matched_artist": None, "matched_title": None,
                  "artist_names": [], "artist_ids": []}


@dataclass
class EnrichSummary:
    source: str
    tracks: int = 0
    matched: int = 0
    not_found: int = 0
    failed: int = 0
    skipped: int = 0
    retriable_failures: int = 0
    down_reason: str | None = None
    skip_reason: str | None = None
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.matched + self.not_found + self.failed

    @property
    def success_rate(self) -> float | None:
        return round((self.matched + self.not_found) / self.attempted, 4) if self.attempted else None


def queries_from_tracks(tracks: pd.DataFrame) -> list[TrackQuery]:
    out = []
    for r in tracks.itertuples(index=False):
        if getattr(r, "is_mashup", False):
            continue  # a mashup is not a recording any catalogue knows
        out.append(TrackQuery(track_id=r.track_id, artists=list(r.artists), title=r.title,
                              remixers=list(r.remixers), variants=[]))
    return out


def _row(track: TrackQuery, source: str, status: str, scrape_date: str, *, error_class=None, error=None,
         is_retriable=False, attempts=0, calls=0, cache_hits=0, result: LookupResult | None = None) -> dict:
    fields = dict(FIELD_DEFAULTS)
    if result is not None:
        fields.update({k: v for k, v in result.fields.items() if k in FIELD_DEFAULTS})
    m = result.match if result is not None else None
    return {"track_id": track.track_id, "source": source, "status": status, "error_class": error_class,
            "error": error, "is_retriable": is_retriable, "attempts": attempts, "api_calls": calls,
            "cache_hits": cache_hits, "score": m.score if m else None, "tier": m.tier if m else None,
            "match_reason": (m.reason if m else None) or (result.reason if result else None), **fields,
            "fetched_at": dt.datetime.now(dt.timezone.utc), "scrape_date": scrape_date,
            "source_version": SOURCE_VERSION}


def skip_all(tracks: list[TrackQuery], source: str, scrape_date: str, reason: str, error_class: str) -> list[dict]:
    return [_row(t, source, "skipped", scrape_date, error_class=error_class, error=reason) for t in tracks]


def _lookup(adapter: Source, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
    """The adapter's lookup; an answer it cannot read (a nested value of another type than documented) is a
    ``BadResponse`` for this track, never an exception that ends the partition and loses the rows done."""
    try:
        return adapter.lookup(client, track, context)
    except ApiError:
        raise
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise BadResponse(f"{adapter.name}: answer not understood ({type(exc).__name__}: {exc})") from exc


def _redacted(client: ApiClient, row: dict) -> dict:
    return {k: client.redact_value(v) for k, v in row.items()}


class _RedactedRows(list):
    """The outcome rows; each appended row is redacted on the way in."""

    def __init__(self, client: ApiClient):
        super().__init__()
        self._client = client

    def append(self, row: dict) -> None:
        super().append(_redacted(self._client, row))


def enrich(tracks: list[TrackQuery], adapter: Source, client: ApiClient, *, scrape_date: str,
           context: dict | None = None, max_failure_rate: float = 0.5,
           log: Callable[[str], None] = lambda m: None) -> tuple[list[dict], EnrichSummary]:
    summary = EnrichSummary(source=adapter.name, tracks=len(tracks))
    rows: list[dict] = _RedactedRows(client)
    raw_log = log

    def log(message: str) -> None:  # noqa: F811 - every log line redacted
        raw_log(client.redact(message))

    auth_error: str | None = None
    state_error: str | None = None
    for i, track in enumerate(tracks, start=1):
        if auth_error or state_error:  # asking again would only fail again: the rest are failed rows at once
            rows.append(_row(track, adapter.name, "failed", scrape_date,
                             error_class="auth_rejected" if auth_error else "local_state",
                             error=auth_error or state_error, is_retriable=True))
            summary.failed += 1
            summary.retriable_failures += 1
            continue
        calls0, hits0 = client.stats["calls"], client.stats["cache_hits"]
        client.keys_used = []
        try:
            result = _lookup(adapter, client, track, context or {})
            calls, hits = client.stats["calls"] - calls0, client.stats["cache_hits"] - hits0
            rows.append(_row(track, adapter.name, result.status, scrape_date, attempts=max(calls, 1 if hits else 0),
                             calls=calls, cache_hits=hits, result=result))
            setattr(summary, result.status, getattr(summary, result.status) + 1)
        except ApiError as exc:
            if isinstance(exc, BadResponse):  # an unreadable answer must not be served from the cache again
                client.forget(client.keys_used)
            calls, hits = client.stats["calls"] - calls0, client.stats["cache_hits"] - hits0
            message = client.redact(str(exc))
            rows.append(_row(track, adapter.name, "failed", scrape_date, error_class=exc.error_class, error=message,
                             is_retriable=exc.is_retriable, attempts=max(calls, exc.attempts if calls else 0),
                             calls=calls, cache_hits=hits))
            summary.failed += 1
            summary.retriable_failures += int(exc.is_retriable)
            summary.errors[exc.error_class] = summary.errors.get(exc.error_class, 0) + 1
            if isinstance(exc, AuthRejected):
                auth_error = message
                summary.down_reason = f"credentials rejected: {message}"
            if not isinstance(exc, CircuitOpen):
                log(f"{adapter.name} [{i}/{len(tracks)}] {track.artists} - {track.title}: {message}")
        except (sqlite3.Error, OSError) as exc:  # the local limiter/cache state failed (full disk, read-only)
            state_error = f"local state failed: {exc}"
            summary.down_reason = state_error
            rows.append(_row(track, adapter.name, "failed", scrape_date, error_class="local_state",
                             error=state_error, is_retriable=True))
            summary.failed += 1
            summary.retriable_failures += 1
            log(f"{adapter.name}: {state_error}; the rows so far are saved and the rest marked failed")
        if i % 25 == 0 or i == len(tracks):
            log(f"{adapter.name}: {i}/{len(tracks)} tracks, {summary.matched} matched, {summary.not_found} not found, "
                f"{summary.failed} failed, {client.stats['calls']} calls, {client.stats['cache_hits']} cache hits")
    if summary.down_reason is None:
        if client.breaker_log.opened_at:
            summary.down_reason = f"circuit breaker opened at {', '.join(client.breaker_log.opened_at)}"
        elif summary.attempted and summary.failed / summary.attempted > max_failure_rate:
            summary.down_reason = f"{summary.failed} of {summary.attempted} lookups failed"
    if summary.down_reason:
        summary.down_reason = client.redact(summary.down_reason)
    return list(rows), summary
