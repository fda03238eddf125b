"""gold.track_analytics: one row per track of ``silver.tracks``, with how much DJs play it and around what.

Semantics (all over the catalog views, i.e. the newest version of every playlist):

* ``plays``: entries of ``silver.playlist_tracks`` carrying the track id (a mashup component counts as a play
  of its recording; a track repeated in one playlist counts each time);
* ``playlists``: distinct playlist ids among those entries; ``djs``: distinct ``lower(dj)`` over the ``djs``
  lists of those playlists;
* ``first_played`` / ``last_played``: min / max of ``coalesce(mix_date, scrape_date)`` of those playlists, as
  ISO text (a mix date may be partial, "2024" or "2024-03", and compares as text);
* ``in_degree`` / ``out_degree``: distinct predecessors / successors in ``silver.transitions``;
  ``top_predecessors`` / ``top_successors``: up to 5 track ids, by transition weight (distinct playlists)
  descending, then track id;
* ``bpm``, ``musical_key``, ``camelot``, ``genres`` from ``gold.enriched_tracks`` (NULL / [] without
  enrichment), ``compatible_camelot`` from ``harmony.compatible_camelot`` ([] when the key is unknown),
  ``label``: the enriched label, else the label the tracklist gave.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from ..schemas import GOLD_TRACK_ANALYTICS
from .harmony import compatible_camelot, normalize_camelot_sql

TOP_N = 5


def _compatible_sql(code: str) -> str:
    """SQL list of ``compatible_camelot(code)`` for a normalised code (tested against the Python one)."""
    n, letter = f"CAST(({code})[:-2] AS INTEGER)", f"({code})[-1:]"
    other = f"(CASE WHEN {letter} = 'A' THEN 'B' ELSE 'A' END)"
    return (f"(CASE WHEN ({code}) IS NULL THEN []::VARCHAR[] ELSE [({code}), "
            f"CAST(({n} + 10) % 12 + 1 AS VARCHAR) || {letter}, CAST({n} % 12 + 1 AS VARCHAR) || {letter}, "
            f"CAST({n} AS VARCHAR) || {other}] END)")


def track_analytics_sql(top_n: int = TOP_N) -> str:
    return f"""
WITH pl AS (
    SELECT playlist_id, coalesce(mix_date, CAST(scrape_date AS VARCHAR)) AS played_on, djs FROM silver.playlists
),
pt AS (
    SELECT track_id, playlist_id FROM silver.playlist_tracks WHERE track_id IS NOT NULL
),
plays AS (
    SELECT pt.track_id, count(*) AS plays, count(DISTINCT pt.playlist_id) AS playlists,
           min(pl.played_on) AS first_played, max(pl.played_on) AS last_played
    FROM pt JOIN pl USING (playlist_id) GROUP BY pt.track_id
),
dj AS (
    SELECT tp.track_id, count(DISTINCT lower(u.dj)) AS djs
    FROM (SELECT DISTINCT track_id, playlist_id FROM pt) AS tp
    JOIN pl USING (playlist_id), unnest(pl.djs) AS u(dj)
    WHERE u.dj IS NOT NULL
    GROUP BY tp.track_id
),
tr AS MATERIALIZED (SELECT from_track_id, to_track_id, weight FROM silver.transitions),
outs AS (
    SELECT from_track_id AS track_id, count(*) AS out_degree,
           list(to_track_id ORDER BY weight DESC, to_track_id)[1:{top_n}] AS top_successors
    FROM tr GROUP BY from_track_id
),
ins AS (
    SELECT to_track_id AS track_id, count(*) AS in_degree,
           list(from_track_id ORDER BY weight DESC, from_track_id)[1:{top_n}] AS top_predecessors
    FROM tr GROUP BY to_track_id
),
en AS (
    SELECT track_id, bpm, musical_key, {normalize_camelot_sql('camelot')} AS camelot, genres, label
    FROM gold.enriched_tracks
),
base AS (
    SELECT t.track_id,
           coalesce(n.track_name, t.title) AS track_name,
           coalesce(t.artists, []::VARCHAR[]) AS artists, t.title,
           coalesce(t.remixers, []::VARCHAR[]) AS remixers, t.is_mashup,
           coalesce(p.plays, 0) AS plays, coalesce(p.playlists, 0) AS playlists, coalesce(d.djs, 0) AS djs,
           p.first_played, p.last_played,
           coalesce(i.in_degree, 0) AS in_degree, coalesce(o.out_degree, 0) AS out_degree,
           coalesce(i.top_predecessors, []::VARCHAR[]) AS top_predecessors,
           coalesce(o.top_successors, []::VARCHAR[]) AS top_successors,
           CAST(e.bpm AS DOUBLE) AS bpm, e.musical_key, e.camelot,
           coalesce(list_sort(list_distinct(e.genres)), []::VARCHAR[]) AS genres,
           coalesce(nullif(e.label, ''), t.label) AS label
    FROM silver.tracks AS t
    LEFT JOIN silver.tracks_named AS n USING (track_id)
    LEFT JOIN plays AS p USING (track_id)
    LEFT JOIN dj AS d USING (track_id)
    LEFT JOIN ins AS i USING (track_id)
    LEFT JOIN outs AS o USING (track_id)
    LEFT JOIN en AS e USING (track_id)
)
SELECT * EXCLUDE (camelot), camelot, {_compatible_sql('camelot')} AS compatible_camelot
FROM base ORDER BY track_id
"""


def as_utc(when) -> pd.Timestamp:
    """A build time as a UTC timestamp (a naive time is taken as UTC)."""
    ts = pd.Timestamp(when)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).as_unit("ns")


def build_track_analytics(con: duckdb.DuckDBPyConnection, built_at: dt.datetime) -> pd.DataFrame:
    """The gold.track_analytics frame (conformed and validated against ``GOLD_TRACK_ANALYTICS``)."""
    df = con.execute(track_analytics_sql()).df()
    df["built_at"] = as_utc(built_at)
    df = df[["track_id", "track_name", "artists", "title", "remixers", "is_mashup", "plays", "playlists", "djs",
             "first_played", "last_played", "in_degree", "out_degree", "top_predecessors", "top_successors", "bpm",
             "musical_key", "camelot", "compatible_camelot", "genres", "label", "built_at"]]
    out = GOLD_TRACK_ANALYTICS.conform(df)
    GOLD_TRACK_ANALYTICS.validate(out)
    return out


__all__ = ["as_utc", "build_track_analytics", "compatible_camelot", "track_analytics_sql"]
