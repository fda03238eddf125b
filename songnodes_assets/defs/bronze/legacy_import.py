"""bronze.legacy_import: the old SongNodes PostgreSQL ``raw_scrape_data`` rows of one day, kept as parsed
items (record_kind 'legacy_item') in the bronze table; silver maps them (see lib/legacy.py)."""

import contextlib
import itertools
import os
from collections import Counter

import dagster as dg

from ...lib.legacy import read_day, to_bronze_rows
from ...lib.schemas import BRONZE_RAW
from ...settings import env_float
from ..metadata import checked, materialized, table_kinds
from ..partitions import daily_partitions
from ..resources import LakehouseResource

LEGACY_IMPORT = dg.AssetKey(["bronze", "legacy_import"])
LEGACY_FILE = "legacy-import.parquet"
BATCH_ROWS = 5000


@dg.asset(
    key=LEGACY_IMPORT, partitions_def=daily_partitions, group_name="bronze", kinds=table_kinds("postgres"),
    description=("Rows of an existing SongNodes PostgreSQL raw_scrape_data table (SONGNODES_LEGACY_PG_DSN, "
                 "SONGNODES_LEGACY_TABLE) scraped on the date (UTC; naive times read in SONGNODES_LEGACY_TIMEZONE), "
                 "imported into bronze as parsed items, read-only and streamed. Re-importing a day replaces that "
                 "day's import file; fetched pages are never touched."),
)
def legacy_import(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    dsn = os.environ.get("SONGNODES_LEGACY_PG_DSN", "").strip()
    table = os.environ.get("SONGNODES_LEGACY_TABLE", "raw_scrape_data").strip() or "raw_scrape_data"
    zone = os.environ.get("SONGNODES_LEGACY_TIMEZONE", "UTC").strip() or "UTC"
    if not dsn:
        context.log.warning("legacy import not configured: set SONGNODES_LEGACY_PG_DSN to import the old database")
        return materialized(metadata={"state": "not configured", "rows": 0})
    partition, run_id = context.partition_key, context.run.run_id
    by_type: Counter = Counter()

    def batches(items):
        while chunk := list(itertools.islice(items, BATCH_ROWS)):
            by_type.update(str(it.get("scrape_type")) for it in chunk)
            yield BRONZE_RAW.conform(to_bronze_rows(chunk, partition, run_id))
            context.log.info(f"legacy import {partition}: {sum(by_type.values())} rows read")

    # closing(): a failed write ends the cursor's transaction on the old database at once (no idle snapshot)
    with contextlib.closing(read_day(dsn, table, partition, timezone=zone,
                                     statement_timeout_s=env_float("SONGNODES_LEGACY_STATEMENT_TIMEOUT_S", 600.0))) as items:
        path = lakehouse.get().write_batches(BRONZE_RAW, batches(items), partition, file_name=LEGACY_FILE)
    rows = sum(by_type.values())
    context.log.info(f"imported {rows} legacy rows for {partition} from {table} (times in {zone}): {dict(by_type)}")
    return materialized(metadata={"rows": rows, "by_scrape_type": dg.MetadataValue.json(dict(by_type)),
                                          "table": table, "timezone": zone, "path": str(path)})
