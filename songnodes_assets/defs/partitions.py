"""Daily partitions = scrape date (UTC). Today's partition exists (end_offset=1) so a scrape can run now.

The first partition is ``SONGNODES_PARTITIONS_START`` (YYYY-MM-DD, default 2024-01-01): set it to the day your
data starts (the first scrape, or the first day of an imported old database), so the UI's partition bars
show the days that matter. A demo home starts at the earliest day the demo built (demo_home)."""

import dagster as dg

from ..lib.partition_start import partitions_start

daily_partitions = dg.DailyPartitionsDefinition(start_date=partitions_start(), end_offset=1, timezone="UTC")
