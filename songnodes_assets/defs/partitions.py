"""Daily partitions = scrape date (UTC). Today's partition exists (end_offset=1) so a scrape can run now."""

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1, timezone="UTC")
