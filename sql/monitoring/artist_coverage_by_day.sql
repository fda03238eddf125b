-- Old system's "artist coverage": share of tracklist entries (gaps excluded) that name an artist, per scrape date.
SELECT scrape_date,
       count(*) AS entries,
       count(*) FILTER (WHERE len(artists) > 0) AS with_artist,
       round(100.0 * count(*) FILTER (WHERE len(artists) > 0) / count(*), 2) AS artist_coverage_pct,
       round(100.0 * count(*) FILTER (WHERE is_identified) / count(*), 2) AS identified_pct
FROM silver.playlist_tracks
WHERE component_of IS NULL AND entry_type <> 'gap'
GROUP BY scrape_date
ORDER BY scrape_date;
