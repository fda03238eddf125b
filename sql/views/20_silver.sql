-- Silver views. Each partition holds what was parsed from that scrape date's pages; a page scraped
-- again on a later date appears in both partitions, so the views keep the newest version of each
-- playlist (by fetched_at) and everything derived from it.

CREATE OR REPLACE VIEW silver.playlists_by_partition AS
SELECT * FROM {{silver.playlists}};

CREATE OR REPLACE VIEW silver.playlists AS
SELECT * EXCLUDE (_rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY playlist_id ORDER BY fetched_at DESC, scrape_date DESC) AS _rn
    FROM silver.playlists_by_partition
) WHERE _rn = 1;

CREATE OR REPLACE VIEW silver.playlist_tracks AS
SELECT t.* FROM {{silver.playlist_tracks}} AS t
JOIN silver.playlists AS p USING (playlist_id, scrape_date);

-- One row per track id: the attributes from its earliest sighting.
CREATE OR REPLACE VIEW silver.tracks AS
SELECT * EXCLUDE (_rn, n_occurrences), sum(n_occurrences) OVER (PARTITION BY track_id) AS n_occurrences
FROM (
    SELECT *, row_number() OVER (PARTITION BY track_id ORDER BY first_seen_at, scrape_date) AS _rn
    FROM {{silver.tracks}}
) QUALIFY _rn = 1;

CREATE OR REPLACE VIEW silver.transition_occurrences AS
SELECT o.* FROM {{silver.transitions}} AS o
JOIN silver.playlists AS p USING (playlist_id, scrape_date);

-- Weighted DJ transitions: weight = number of distinct playlists that play A then B.
CREATE OR REPLACE VIEW silver.transitions AS
SELECT from_track_id, to_track_id,
       count(DISTINCT playlist_id) AS weight,
       min(scrape_date) AS first_seen_date,
       max(scrape_date) AS last_seen_date
FROM silver.transition_occurrences
GROUP BY from_track_id, to_track_id;

-- Quarantine: bad lines and bad pages of each partition, with the rule each broke (see README: Quarantine).
CREATE OR REPLACE VIEW silver.problems AS
SELECT * FROM {{silver.problems}};

-- Names first: one row per track with a display name ("A & B - Title (C Remix)").
CREATE OR REPLACE VIEW silver.tracks_named AS
SELECT track_id,
       array_to_string(artists, ' & ') || ' - ' || title
         || CASE WHEN len(remixers) > 0 THEN ' (' || array_to_string(remixers, ' & ') || ' Remix)' ELSE '' END
         AS track_name,
       * EXCLUDE (track_id)
FROM silver.tracks;

-- Weighted transitions with names: weight = distinct playlists, djs = distinct DJs who played A then B.
CREATE OR REPLACE VIEW silver.transitions_named AS
WITH djs AS (
    SELECT o.from_track_id, o.to_track_id, count(DISTINCT lower(dj)) AS djs
    FROM silver.transition_occurrences AS o
    JOIN silver.playlists AS p USING (playlist_id, scrape_date), unnest(p.djs) AS u(dj)
    GROUP BY ALL
)
SELECT f.track_name AS from_track, t.track_name AS to_track, tr.weight, coalesce(d.djs, 0) AS djs,
       tr.first_seen_date, tr.last_seen_date, tr.from_track_id, tr.to_track_id
FROM silver.transitions AS tr
LEFT JOIN silver.tracks_named AS f ON f.track_id = tr.from_track_id
LEFT JOIN silver.tracks_named AS t ON t.track_id = tr.to_track_id
LEFT JOIN djs AS d USING (from_track_id, to_track_id);
