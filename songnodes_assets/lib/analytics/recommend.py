"""gold.next_tracks: "what do DJs play after this track?", ranked, with the reason in words.

Two tiers per ``from_track_id`` (a track never played before anything has no played rows, but may have
neighbourhood rows: tracks played after one of its predecessors):

* ``played``: every successor in ``silver.transitions`` (a real A → B in some playlist). ``weight`` = distinct
  playlists, ``djs`` = distinct ``lower(dj)`` of those playlists, ``last_seen_date`` = newest scrape date (when the
  transition was last seen published, not the mix's own date).
* ``neighbourhood``: tracks two hops away that were never played right after it: successors of its successors
  (``via_track_id`` = the track in between) and co-successors (tracks played after one of its predecessors;
  ``via_track_id`` = that predecessor). Bounded, never a cross join: only the top ``per_track`` successors
  (by weight) of every track and the top ``per_track`` predecessors of every track are expanded, so a track
  yields at most 2 × per_track² candidates. A candidate must not be the track itself nor a direct successor,
  and must be key-compatible (same / adjacent / relative) or BPM-close (``|bpm_delta| <= BPM_CLOSE``); with no
  enrichment this tier is therefore empty. ``weight`` = path support: the sum over its two-step paths of
  ``least(w1, w2)``; ``djs`` = 0, ``last_seen_date`` NULL. At most ``per_track`` rows per track.

``rank`` is 1..N per ``from_track_id``: every played row ranks above every neighbourhood row, then by score
descending, weight descending, ``to_track_id``. No row has ``from_track_id == to_track_id``.

Score (``recommendation_score``, in [0, 1]; the SQL is generated from the same constants and tested against it):

    score = 0.40·W + 0.20·D + 0.075·R + 0.25·K + 0.075·B
    W = weight / (weight + 2)                 (1 playlist 0.33, 2 → 0.5, 8 → 0.8)
    D = djs / (djs + 2)
    R = 0.5 ** (days since last_seen_date / 365)    (half-life one year; 0.5 when unknown; future dates = 0 days)
    K = 1.0 same or adjacent, 0.8 relative, 0.5 unknown (neutral), 0.0 incompatible
    B = max(0, 1 - |bpm_delta| / 8)   (half/double-time aware; 0.5 when unknown = neutral)

The neighbourhood tier scores ``NEIGHBOURHOOD_FACTOR`` (0.5) × the same formula with weight = path support,
djs = 0 and unknown recency, so it also sits below comparable played rows in absolute score. ``today``
defaults to the UTC date of ``built_at`` (a rebuild of the same data at the same time gives the same table).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Iterator

import duckdb
import pandas as pd

from ..schemas import GOLD_NEXT_TRACKS
from .harmony import bpm_delta_sql, bpm_text_sql, key_relation_sql, normalize_camelot_sql
from .tracks import as_utc

# key compatibility outweighs recency + tempo together, so among successors played as often an incompatible
# key never outranks a compatible one
WEIGHTS = {"weight": 0.40, "djs": 0.20, "recency": 0.075, "key": 0.25, "bpm": 0.075}
WEIGHT_HALF = 2.0  # W = weight / (weight + WEIGHT_HALF)
DJS_HALF = 2.0
HALF_LIFE_DAYS = 365.0
KEY_FACTOR = {"same": 1.0, "adjacent": 1.0, "relative": 0.8, "unknown": 0.5, "incompatible": 0.0}
BPM_SCALE = 8.0  # B reaches 0 at 8 BPM apart
NEUTRAL = 0.5
NEIGHBOURHOOD_FACTOR = 0.5
BPM_CLOSE = 3.0  # a neighbourhood candidate of unknown / incompatible key still qualifies this close in tempo
PER_TRACK = 10
COLUMNS = GOLD_NEXT_TRACKS.column_names


def recommendation_score(weight: int, djs: int, days_since: float | None, key_relation: str,
                         bpm_delta: float | None) -> float:
    """The played-tier score in [0, 1] (see the module docstring)."""
    w = max(weight, 0) / (max(weight, 0) + WEIGHT_HALF)
    d = max(djs, 0) / (max(djs, 0) + DJS_HALF)
    r = NEUTRAL if days_since is None else 0.5 ** (max(days_since, 0.0) / HALF_LIFE_DAYS)
    k = KEY_FACTOR.get(key_relation, NEUTRAL)
    b = NEUTRAL if bpm_delta is None or math.isnan(bpm_delta) else max(0.0, 1.0 - abs(bpm_delta) / BPM_SCALE)
    return (WEIGHTS["weight"] * w + WEIGHTS["djs"] * d + WEIGHTS["recency"] * r + WEIGHTS["key"] * k
            + WEIGHTS["bpm"] * b)


def neighbourhood_score(support: int, key_relation: str, bpm_delta: float | None) -> float:
    return NEIGHBOURHOOD_FACTOR * recommendation_score(support, 0, None, key_relation, bpm_delta)


def recommendation_score_sql(weight: str, djs: str, days: str, relation: str, delta: str) -> str:
    """SQL for ``recommendation_score`` over column expressions."""
    key = " ".join(f"WHEN '{k}' THEN {v}" for k, v in KEY_FACTOR.items())
    return (f"({WEIGHTS['weight']} * greatest({weight}, 0) / (greatest({weight}, 0) + {WEIGHT_HALF})"
            f" + {WEIGHTS['djs']} * greatest({djs}, 0) / (greatest({djs}, 0) + {DJS_HALF})"
            f" + {WEIGHTS['recency']} * coalesce(pow(0.5, greatest({days}, 0) / {HALF_LIFE_DAYS}), {NEUTRAL})"
            f" + {WEIGHTS['key']} * (CASE {relation} {key} ELSE {NEUTRAL} END)"
            f" + {WEIGHTS['bpm']} * coalesce(greatest(0.0, 1.0 - abs({delta}) / {BPM_SCALE}), {NEUTRAL}))")


def _plural(n: str, one: str, many: str) -> str:
    return f"CAST({n} AS VARCHAR) || CASE WHEN {n} = 1 THEN ' {one}' ELSE ' {many}' END"


def _key_text_sql(a: str, b: str, relation: str) -> str:
    return f"(CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL THEN {a} || ' → ' || {b} || ' (' || {relation} || ')' END)"


def next_tracks_sql(today: dt.date, per_track: int = PER_TRACK, played_cap: int | None = None,
                    from_ids: bool = False) -> str:
    """The whole gold.next_tracks query (``from_ids``: only the from tracks in the list parameter ``$ids``,
    for a live one-track answer when the gold table is not built)."""
    only = "WHERE from_track_id IN (SELECT unnest($ids::VARCHAR[]))" if from_ids else ""
    rel = key_relation_sql("fe.camelot", "te.camelot")
    delta = bpm_delta_sql("fe.bpm", "te.bpm")
    return f"""
WITH en AS MATERIALIZED (
    SELECT track_id, CAST(bpm AS DOUBLE) AS bpm, {normalize_camelot_sql('camelot')} AS camelot
    FROM gold.enriched_tracks
),
tr AS MATERIALIZED (
    SELECT from_track_id, to_track_id, weight, CAST(last_seen_date AS VARCHAR) AS last_seen_date FROM silver.transitions
    WHERE from_track_id <> to_track_id
),
occ_djs AS (
    SELECT o.from_track_id, o.to_track_id, count(DISTINCT lower(u.dj)) AS djs
    FROM silver.transition_occurrences AS o
    JOIN silver.playlists AS p USING (playlist_id, scrape_date), unnest(p.djs) AS u(dj)
    WHERE u.dj IS NOT NULL
    GROUP BY o.from_track_id, o.to_track_id
),
ranked AS MATERIALIZED (  -- top successors / predecessors by weight: the only edges the neighbourhood expands
    SELECT from_track_id, to_track_id, weight,
           row_number() OVER (PARTITION BY from_track_id ORDER BY weight DESC, to_track_id) AS out_rn,
           row_number() OVER (PARTITION BY to_track_id ORDER BY weight DESC, from_track_id) AS in_rn
    FROM tr
),
top_out AS (SELECT from_track_id, to_track_id, weight FROM ranked WHERE out_rn <= {int(per_track)}),
top_in AS (SELECT from_track_id, to_track_id, weight FROM ranked WHERE in_rn <= {int(per_track)}),
played_raw AS (
    SELECT tr.from_track_id, tr.to_track_id, 'played' AS tier, tr.weight, coalesce(d.djs, 0) AS djs,
           tr.last_seen_date, CAST(NULL AS VARCHAR) AS via_track_id, CAST(NULL AS VARCHAR) AS via_kind,
           date_diff('day', try_cast(tr.last_seen_date AS DATE), DATE '{today.isoformat()}') AS days
    FROM tr LEFT JOIN occ_djs AS d USING (from_track_id, to_track_id)
),
cand AS (
    SELECT a.from_track_id, b.to_track_id, a.to_track_id AS via, 'hop' AS via_kind,
           least(a.weight, b.weight) AS strength
    FROM top_out AS a JOIN top_out AS b ON b.from_track_id = a.to_track_id
    UNION ALL
    SELECT p.to_track_id AS from_track_id, s.to_track_id, p.from_track_id AS via, 'co' AS via_kind,
           least(p.weight, s.weight) AS strength
    FROM top_in AS p JOIN top_out AS s ON s.from_track_id = p.from_track_id
),
hood_raw AS (
    SELECT c.from_track_id, c.to_track_id, 'neighbourhood' AS tier, CAST(sum(c.strength) AS BIGINT) AS weight,
           0 AS djs, CAST(NULL AS VARCHAR) AS last_seen_date,
           first(c.via ORDER BY c.strength DESC, c.via_kind DESC, c.via) AS via_track_id,
           first(c.via_kind ORDER BY c.strength DESC, c.via_kind DESC, c.via) AS via_kind,
           CAST(NULL AS BIGINT) AS days
    FROM cand AS c
    WHERE c.from_track_id <> c.to_track_id
      AND NOT EXISTS (SELECT 1 FROM tr WHERE tr.from_track_id = c.from_track_id AND tr.to_track_id = c.to_track_id)
    GROUP BY c.from_track_id, c.to_track_id
),
scored AS (
    SELECT r.*, fe.camelot AS from_camelot, te.camelot AS to_camelot, {rel} AS key_relation,
           fe.bpm AS from_bpm, te.bpm AS to_bpm, {delta} AS bpm_delta
    FROM (SELECT * FROM played_raw UNION ALL SELECT * FROM hood_raw) AS r
    LEFT JOIN en AS fe ON fe.track_id = r.from_track_id
    LEFT JOIN en AS te ON te.track_id = r.to_track_id
),
filtered AS (
    SELECT *, CASE WHEN tier = 'played'
                   THEN {recommendation_score_sql('weight', 'djs', 'days', 'key_relation', 'bpm_delta')}
                   ELSE {NEIGHBOURHOOD_FACTOR} * {recommendation_score_sql('weight', '0', 'NULL', 'key_relation',
                                                                           'bpm_delta')} END AS score
    FROM scored
    WHERE tier = 'played' OR key_relation IN ('same', 'adjacent', 'relative') OR abs(bpm_delta) <= {BPM_CLOSE}
),
tiered AS (
    SELECT *, row_number() OVER (PARTITION BY from_track_id, tier
                                 ORDER BY score DESC, weight DESC, to_track_id) AS rn
    FROM filtered
),
kept AS (
    SELECT * FROM tiered WHERE (tier = 'played' {('AND rn <= ' + str(int(played_cap))) if played_cap else ''})
                            OR (tier = 'neighbourhood' AND rn <= {int(per_track)})
),
final AS (
    SELECT *, row_number() OVER (PARTITION BY from_track_id
                                 ORDER BY CASE tier WHEN 'played' THEN 0 ELSE 1 END, score DESC, weight DESC,
                                          to_track_id) AS rank
    FROM kept {only}
)
SELECT f.from_track_id, f.rank, f.to_track_id, f.tier, f.score, f.weight, f.djs, f.last_seen_date,
       f.via_track_id, f.from_camelot, f.to_camelot, f.key_relation, f.from_bpm, f.to_bpm, f.bpm_delta,
       concat_ws('; ',
           CASE WHEN f.tier = 'played' THEN
               'played after it in ' || {_plural('f.weight', 'playlist', 'playlists')}
               || CASE WHEN f.djs > 0 THEN ' by ' || {_plural('f.djs', 'DJ', 'DJs')} ELSE '' END
           WHEN f.via_kind = 'hop' THEN
               'never played right after it; two steps away via ' || coalesce(v.track_name, f.via_track_id)
           ELSE
               'never played right after it; DJs play it after ' || coalesce(v.track_name, f.via_track_id)
               || ', as they do this track'
           END,
           {_key_text_sql('f.from_camelot', 'f.to_camelot', 'f.key_relation')},
           {bpm_text_sql('f.bpm_delta')}) AS reason
FROM final AS f
LEFT JOIN silver.tracks_named AS v ON v.track_id = f.via_track_id
ORDER BY f.from_track_id, f.rank
"""


def _frame(df: pd.DataFrame, built_at) -> pd.DataFrame:
    df = df.copy()
    df["built_at"] = as_utc(built_at)
    out = GOLD_NEXT_TRACKS.conform(df[COLUMNS])
    GOLD_NEXT_TRACKS.validate(out)
    return out


def _today(built_at, today: dt.date | None) -> dt.date:
    return today or as_utc(built_at).date()


def iter_next_tracks(con: duckdb.DuckDBPyConnection, built_at: dt.datetime, today: dt.date | None = None,
                     per_track: int = PER_TRACK, played_cap: int | None = None,
                     batch_rows: int = 250_000) -> Iterator[pd.DataFrame]:
    """The gold.next_tracks rows in validated frames of at most ``batch_rows`` rows, ordered by
    ``from_track_id`` then ``rank`` (for ``Lakehouse.write_batches``-style writes in bounded memory)."""
    reader = con.sql(next_tracks_sql(_today(built_at, today), per_track, played_cap)).to_arrow_reader(batch_rows)
    for batch in reader:
        if batch.num_rows:
            yield _frame(batch.to_pandas(), built_at)


def build_next_tracks(con: duckdb.DuckDBPyConnection, built_at: dt.datetime, today: dt.date | None = None,
                      per_track: int = PER_TRACK, played_cap: int | None = None) -> pd.DataFrame:
    """The whole gold.next_tracks frame (conformed, validated). ``played_cap`` None keeps every successor."""
    frames = list(iter_next_tracks(con, built_at, today, per_track, played_cap))
    if not frames:
        return _frame(con.execute(next_tracks_sql(_today(built_at, today), per_track, played_cap)).df(), built_at)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def live_next_tracks(con: duckdb.DuckDBPyConnection, track_ids: list[str], today: dt.date,
                     per_track: int = PER_TRACK) -> pd.DataFrame:
    """The same rows for a few from tracks, computed now (no built_at column)."""
    return con.execute(next_tracks_sql(today, per_track, None, from_ids=True), {"ids": list(track_ids)}).df()
