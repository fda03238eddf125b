"""The alert rules (thresholds from DESIGN.md section 6), as pure functions of plain data.

Inputs are materialisation records ``Mat(timestamp, partition, metadata)`` gathered by the sensors
from the Dagster instance, enrichment rows from the lakehouse, and source health. Each rule returns
``Condition``s; the sensor turns state changes into alerts."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..settings import env_float
from .alerts import Condition


@dataclass(frozen=True)
class Mat:
    timestamp: float
    partition: str | None
    metadata: dict


@dataclass(frozen=True)
class Thresholds:
    zero_tracks_window_h: float = 6.0
    empty_playlist_share: float = 0.10
    min_tracks_per_playlist: float = 5.0
    coverage_drop_points: float = 5.0
    duplicate_rate: float = 0.30
    success_critical: float = 0.70
    success_warning: float = 0.85
    min_lookups: float = 5.0
    breaker_open_min: float = 5.0
    cache_hit_min: float = 0.30
    cache_window_h: float = 24.0
    cache_min_lookups: float = 50.0
    no_success_h: float = 1.0
    lag_h: float = 1.0
    lookback_h: float = 48.0

    @classmethod
    def from_env(cls) -> "Thresholds":
        names = {f: f"SONGNODES_ALERT_{f.upper()}" for f in cls.__dataclass_fields__}
        return cls(**{f: env_float(env, getattr(cls, f)) for f, env in names.items()})


def zero_enhanced_tracks(bronze: list[Mat], tracks: list[Mat], now: float, t: Thresholds) -> list[Condition]:
    """Critical: bronze fetched pages in the window but silver.tracks gained no rows."""
    start = now - t.zero_tracks_window_h * 3600
    b = [m for m in bronze if m.timestamp >= start and (m.metadata.get("pages_ok") or 0) > 0]
    rows = sum(int(m.metadata.get("row_count") or 0) for m in tracks if m.timestamp >= start)
    window = f"{t.zero_tracks_window_h:g} h"
    if b and rows == 0:
        return [Condition("zero_enhanced_tracks", "critical",
                          f"{len(b)} bronze materialisation(s) with pages but 0 silver.tracks rows in the last {window}",
                          0, 0)]
    return [Condition("zero_enhanced_tracks", "ok", f"{rows} silver.tracks rows in the last {window}", rows, 0)]


def parse_quality(playlists: list[Mat], t: Thresholds) -> list[Condition]:
    """Per parser version (its newest materialisation): share of 0-entry playlists, mean entries."""
    latest: dict[str, Mat] = {}
    for m in sorted(playlists, key=lambda m: m.timestamp):
        latest[str(m.metadata.get("parser_version", "?"))] = m
    out = []
    for version, m in latest.items():
        n = int(m.metadata.get("row_count") or 0)
        if n == 0:
            continue
        share = int(m.metadata.get("playlists_with_zero_entries") or 0) / n
        mean = float(m.metadata.get("entries_per_playlist") or 0.0)
        out.append(Condition(f"empty_playlists:{version}", "critical" if share > t.empty_playlist_share else "ok",
                             f"{share:.0%} of {n} playlists parsed to 0 entries (parser {version}, partition "
                             f"{m.partition})", round(share, 4), t.empty_playlist_share))
        out.append(Condition(f"tracks_per_playlist:{version}", "warning" if mean < t.min_tracks_per_playlist else "ok",
                             f"{mean:.1f} entries per playlist (parser {version}, partition {m.partition})",
                             round(mean, 2), t.min_tracks_per_playlist))
    return out


def artist_coverage_drop(playlist_tracks: list[Mat], t: Thresholds) -> list[Condition]:
    """Warning: the newest partition's artist coverage is more than N points below the previous one."""
    by_partition: dict[str, Mat] = {}
    for m in sorted(playlist_tracks, key=lambda m: m.timestamp):
        if m.partition and m.metadata.get("artist_coverage_pct") is not None:
            by_partition[m.partition] = m
    if len(by_partition) < 2:
        return []
    prev_p, last_p = sorted(by_partition)[-2:]
    prev = float(by_partition[prev_p].metadata["artist_coverage_pct"])
    last = float(by_partition[last_p].metadata["artist_coverage_pct"])
    drop = prev - last
    return [Condition("artist_coverage_drop", "warning" if drop > t.coverage_drop_points else "ok",
                      f"artist coverage {last:.1f}% on {last_p} vs {prev:.1f}% on {prev_p} ({-drop:+.1f} points)",
                      round(drop, 2), t.coverage_drop_points)]


def duplicate_rate(bronze: list[Mat], t: Thresholds) -> list[Condition]:
    if not bronze:
        return []
    m = max(bronze, key=lambda m: m.timestamp)
    rate = float(m.metadata.get("duplicate_rate") or 0.0)
    return [Condition("duplicate_rate", "warning" if rate > t.duplicate_rate else "ok",
                      f"{rate:.0%} of the pages fetched for {m.partition} were unchanged duplicates of earlier fetches",
                      rate, t.duplicate_rate)]


def enrichment_success(source: str, rows: pd.DataFrame | None, partition: str | None, t: Thresholds) -> list[Condition]:
    """Critical below 70 %, warning below 85 % of lookups answered (matched or not found) in the
    source's newest partition; skipped rows do not count."""
    if rows is None or rows.empty:
        return []
    attempted = rows[rows["status"].isin(["matched", "not_found", "failed"])]
    if len(attempted) < t.min_lookups:
        return []
    rate = float(attempted["status"].isin(["matched", "not_found"]).mean())
    sev = "critical" if rate < t.success_critical else "warning" if rate < t.success_warning else "ok"
    return [Condition(f"enrichment_success:{source}", sev,
                      f"{source}: {rate:.0%} of {len(attempted)} lookups succeeded on {partition}",
                      round(rate, 4), t.success_critical if sev == "critical" else t.success_warning)]


def breaker_open(source: str, health: dict | None, now: float, t: Thresholds) -> list[Condition]:
    if not health:
        return []
    is_open = health.get("breaker_state") == "open" and health.get("opened_at")
    minutes = (now - health["opened_at"]) / 60 if is_open else 0.0
    bad = bool(is_open) and minutes > t.breaker_open_min
    return [Condition(f"breaker_open:{source}", "critical" if bad else "ok",
                      f"{source}: circuit breaker open for {minutes:.0f} min" if is_open
                      else f"{source}: circuit breaker closed", round(minutes, 1), t.breaker_open_min)]


def cache_hit_rate(source: str, mats: list[Mat], now: float, t: Thresholds) -> list[Condition]:
    start = now - t.cache_window_h * 3600
    recent = [m for m in mats if m.timestamp >= start]
    calls = sum(int(m.metadata.get("api_calls") or 0) for m in recent)
    hits = sum(int(m.metadata.get("cache_hits") or 0) for m in recent)
    if calls + hits < t.cache_min_lookups:
        return []
    rate = hits / (calls + hits)
    return [Condition(f"cache_hit_rate:{source}", "warning" if rate < t.cache_hit_min else "ok",
                      f"{source}: cache hit rate {rate:.0%} over {calls + hits} lookups in {t.cache_window_h:g} h",
                      round(rate, 4), t.cache_hit_min)]


def no_successful_call(source: str, health: dict | None, enabled: bool, now: float, t: Thresholds) -> list[Condition]:
    """Critical: the source is on and being called (a failure within the window) but nothing succeeded."""
    if not health or not enabled:
        return []
    window = t.no_success_h * 3600
    last_ok = health.get("last_success_at") or 0.0
    last_fail = health.get("last_failure_at") or 0.0
    bad = now - last_fail < window and now - last_ok > window
    return [Condition(f"no_successful_call:{source}", "critical" if bad else "ok",
                      f"{source}: no successful API call in {t.no_success_h:g} h while calls keep failing" if bad
                      else f"{source}: last successful call {max(0.0, now - last_ok) / 60:.0f} min ago",
                      None, t.no_success_h)]


def bronze_silver_lag(bronze: list[Mat], silver: list[Mat], now: float, t: Thresholds) -> list[Condition]:
    """Warning: a bronze partition materialised more than N hours ago and silver has not caught up."""
    newest_bronze: dict[str, float] = {}
    for m in bronze:
        if m.partition:
            newest_bronze[m.partition] = max(newest_bronze.get(m.partition, 0.0), m.timestamp)
    newest_silver: dict[str, float] = {}
    for m in silver:
        if m.partition:
            newest_silver[m.partition] = max(newest_silver.get(m.partition, 0.0), m.timestamp)
    lagging = [(p, now - ts) for p, ts in newest_bronze.items()
               if newest_silver.get(p, 0.0) < ts and now - ts > t.lag_h * 3600]
    if lagging:
        p, lag = max(lagging, key=lambda x: x[1])
        return [Condition("bronze_silver_lag", "warning",
                          f"silver is {lag / 3600:.1f} h behind bronze for {len(lagging)} partition(s) (oldest: {p})",
                          round(lag / 3600, 2), t.lag_h)]
    return [Condition("bronze_silver_lag", "ok", "silver is up to date with bronze", 0.0, t.lag_h)]
