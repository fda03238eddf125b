-- Alerts raised by the Dagster sensors (one row per state change: firing / cleared).
CREATE SCHEMA IF NOT EXISTS ops;
CREATE OR REPLACE VIEW ops.alerts AS SELECT * FROM {{ops.alerts}} ORDER BY fired_at;
