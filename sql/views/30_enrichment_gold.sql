-- Enrichment (one table per source) and gold views.
CREATE SCHEMA IF NOT EXISTS enrichment;
CREATE SCHEMA IF NOT EXISTS gold;

CREATE OR REPLACE VIEW enrichment.musicbrainz AS SELECT * FROM {{enrichment.musicbrainz}};
CREATE OR REPLACE VIEW enrichment.spotify AS SELECT * FROM {{enrichment.spotify}};
CREATE OR REPLACE VIEW enrichment.lastfm AS SELECT * FROM {{enrichment.lastfm}};
CREATE OR REPLACE VIEW enrichment.discogs AS SELECT * FROM {{enrichment.discogs}};
CREATE OR REPLACE VIEW enrichment.getsongbpm AS SELECT * FROM {{enrichment.getsongbpm}};
CREATE OR REPLACE VIEW enrichment.acousticbrainz AS SELECT * FROM {{enrichment.acousticbrainz}};

-- One row per track: the newest gold build of it.
CREATE OR REPLACE VIEW gold.enriched_tracks AS
SELECT * FROM {{gold.enriched_tracks}}
QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY built_at DESC, scrape_date DESC) = 1;

CREATE OR REPLACE VIEW gold.transition_graph AS SELECT * FROM {{gold.transition_graph}};

-- Gold analytics (README: Asking the data). Unpartitioned: each is one file rebuilt from all history.
CREATE OR REPLACE VIEW gold.track_analytics AS SELECT * FROM {{gold.track_analytics}};
CREATE OR REPLACE VIEW gold.playlist_analytics AS SELECT * FROM {{gold.playlist_analytics}};
CREATE OR REPLACE VIEW gold.next_tracks AS SELECT * FROM {{gold.next_tracks}};
CREATE OR REPLACE VIEW gold.artists AS SELECT * FROM {{gold.artists}};
CREATE OR REPLACE VIEW gold.artist_analytics AS SELECT * FROM {{gold.artist_analytics}};
CREATE OR REPLACE VIEW gold.artist_collaborations AS SELECT * FROM {{gold.artist_collaborations}};
