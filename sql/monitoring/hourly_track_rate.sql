-- Old system's "enhanced tracks per hour": new track ids first seen per hour.
SELECT date_trunc('hour', first_seen_at) AS hour, count(*) AS new_tracks
FROM silver.tracks
GROUP BY 1
ORDER BY 1;
