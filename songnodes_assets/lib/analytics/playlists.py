"""gold.playlist_analytics: one row per playlist of ``silver.playlists`` (its newest version).

Semantics:

* ``entries``: top-level entries of the playlist (``component_of IS NULL``: a mashup counts once, as
  ``silver.playlists.n_entries`` does); ``identified``: those with ``is_identified``;
  ``identified_share`` = identified / entries, 0.0 when there are no entries.
* BPM curve over the identified top-level entries in (section_index, position) order whose track has an
  enriched BPM: ``tracks_with_bpm`` = how many, ``bpm_start`` = the first known BPM, ``bpm_end`` = the last,
  ``bpm_min`` / ``bpm_max`` / ``bpm_mean`` (NULL when none is known).
* ``tracks_with_key``: identified top-level entries with a known Camelot code; ``key_changes``: pairs of
  consecutive identified top-level entries of the same section (position order; an unidentified line
  between them breaks the pair, as it breaks a transition) whose Camelot codes are both known and differ.
* ``scored_transitions``: the playlist's ``silver.transition_occurrences`` whose two Camelot codes are both
  known; ``harmonic_transitions``: those whose ``key_relation`` is same / adjacent / relative;
  ``harmonic_flow_score`` = harmonic / scored, NULL when nothing is scorable.
* ``genres``: the playlist's genres ∪ the enriched genres of its tracks (distinct, sorted); ``labels``: the
  distinct labels of its entries (as written in the tracklist) ∪ their tracks' enriched labels, sorted.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from ..schemas import GOLD_PLAYLIST_ANALYTICS
from .harmony import key_relation_sql, normalize_camelot_sql
from .tracks import as_utc


def playlist_analytics_sql() -> str:
    rel = key_relation_sql("fe.camelot", "te.camelot")
    return f"""
WITH en AS MATERIALIZED (
    SELECT track_id, CAST(bpm AS DOUBLE) AS bpm, {normalize_camelot_sql('camelot')} AS camelot, genres,
           nullif(trim(label), '') AS label
    FROM gold.enriched_tracks
),
top AS MATERIALIZED (
    SELECT pt.playlist_id, pt.section_index, pt.position, pt.line_no, pt.is_identified, pt.track_id,
           nullif(trim(pt.label), '') AS label, e.bpm, e.camelot, e.genres, e.label AS en_label
    FROM silver.playlist_tracks AS pt LEFT JOIN en AS e ON e.track_id = pt.track_id AND pt.is_identified
    WHERE pt.component_of IS NULL
),
counts AS (
    SELECT playlist_id, count(*) AS entries, count(*) FILTER (WHERE is_identified) AS identified,
           count(bpm) FILTER (WHERE is_identified) AS tracks_with_bpm,
           arg_min(bpm, (section_index, position, line_no)) FILTER (WHERE is_identified AND bpm IS NOT NULL)
               AS bpm_start,
           arg_max(bpm, (section_index, position, line_no)) FILTER (WHERE is_identified AND bpm IS NOT NULL)
               AS bpm_end,
           min(bpm) FILTER (WHERE is_identified) AS bpm_min, max(bpm) FILTER (WHERE is_identified) AS bpm_max,
           avg(bpm) FILTER (WHERE is_identified) AS bpm_mean,
           count(camelot) FILTER (WHERE is_identified) AS tracks_with_key
    FROM top GROUP BY playlist_id
),
seq AS (
    SELECT playlist_id, is_identified, camelot,
           lag(is_identified) OVER w AS prev_identified, lag(camelot) OVER w AS prev_camelot
    FROM top
    WINDOW w AS (PARTITION BY playlist_id, section_index ORDER BY position, line_no)
),
changes AS (
    SELECT playlist_id, count(*) AS key_changes FROM seq
    WHERE is_identified AND prev_identified AND camelot IS NOT NULL AND prev_camelot IS NOT NULL
      AND camelot <> prev_camelot
    GROUP BY playlist_id
),
flow AS (
    SELECT o.playlist_id, count(*) AS scored_transitions,
           count(*) FILTER (WHERE {rel} IN ('same', 'adjacent', 'relative')) AS harmonic_transitions
    FROM silver.transition_occurrences AS o
    JOIN en AS fe ON fe.track_id = o.from_track_id
    JOIN en AS te ON te.track_id = o.to_track_id
    WHERE fe.camelot IS NOT NULL AND te.camelot IS NOT NULL
    GROUP BY o.playlist_id
),
en_genres AS (
    SELECT playlist_id, list(DISTINCT g) AS genres
    FROM (SELECT playlist_id, unnest(genres) AS g FROM top WHERE is_identified AND genres IS NOT NULL)
    WHERE g IS NOT NULL AND trim(g) <> ''
    GROUP BY playlist_id
),
labels AS (
    SELECT playlist_id, list_sort(list(DISTINCT l)) AS labels
    FROM (SELECT playlist_id, label AS l FROM top UNION ALL SELECT playlist_id, en_label FROM top)
    WHERE l IS NOT NULL
    GROUP BY playlist_id
)
SELECT p.playlist_id, p.source, p.url, p.page_title, p.mix_date, coalesce(p.djs, []::VARCHAR[]) AS djs,
       coalesce(c.entries, 0) AS entries, coalesce(c.identified, 0) AS identified,
       CASE WHEN coalesce(c.entries, 0) = 0 THEN 0.0 ELSE c.identified / c.entries END AS identified_share,
       coalesce(c.tracks_with_bpm, 0) AS tracks_with_bpm, c.bpm_start, c.bpm_end, c.bpm_min, c.bpm_max,
       c.bpm_mean, coalesce(c.tracks_with_key, 0) AS tracks_with_key, coalesce(k.key_changes, 0) AS key_changes,
       coalesce(f.scored_transitions, 0) AS scored_transitions,
       coalesce(f.harmonic_transitions, 0) AS harmonic_transitions,
       CASE WHEN coalesce(f.scored_transitions, 0) > 0 THEN f.harmonic_transitions / f.scored_transitions END
           AS harmonic_flow_score,
       list_sort(list_distinct(list_filter(coalesce(p.genres, []::VARCHAR[]) || coalesce(g.genres, []::VARCHAR[]),
                                           lambda x: x IS NOT NULL AND trim(x) <> ''))) AS genres,
       coalesce(l.labels, []::VARCHAR[]) AS labels
FROM silver.playlists AS p
LEFT JOIN counts AS c USING (playlist_id)
LEFT JOIN changes AS k USING (playlist_id)
LEFT JOIN flow AS f USING (playlist_id)
LEFT JOIN en_genres AS g USING (playlist_id)
LEFT JOIN labels AS l USING (playlist_id)
ORDER BY p.playlist_id
"""


def build_playlist_analytics(con: duckdb.DuckDBPyConnection, built_at: dt.datetime) -> pd.DataFrame:
    """The gold.playlist_analytics frame (conformed and validated against ``GOLD_PLAYLIST_ANALYTICS``)."""
    df = con.execute(playlist_analytics_sql()).df()
    df["built_at"] = as_utc(built_at)
    out = GOLD_PLAYLIST_ANALYTICS.conform(df[GOLD_PLAYLIST_ANALYTICS.column_names])
    GOLD_PLAYLIST_ANALYTICS.validate(out)
    return out
