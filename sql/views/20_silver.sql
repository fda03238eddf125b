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
