-- Schemas of the lakehouse catalog (DuckDB, in memory, over the parquet files).
CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SCHEMA IF NOT EXISTS silver;
