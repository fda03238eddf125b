"""bronze.legacy_import: the old SongNodes PostgreSQL ``raw_scrape_data`` rows of one day, kept as parsed
items (record_kind 'legacy_item') in the bronze table; silver maps them (see lib/legacy.py)."""

import os

import dagster as dg

from ...lib.legacy import read_day, to_bronze_rows
from ...lib.schemas import BRONZE_RAW
from ..partitions import daily_partitions
from ..resources import LakehouseResource

LEGACY_IMPORT = dg.AssetKey(["bronze", "legacy_import"])
LEGACY_FILE = "legacy-import.parquet"


@dg.asset(
    key=LEGACY_IMPORT, partitions_def=daily_partitions, group_name="bronze", kinds={"postgres", "parquet"},
    description=("Rows of an existing SongNodes PostgreSQL raw_scrape_data table (SONGNODES_LEGACY_PG_DSN, "
                 "SONGNODES_LEGACY_TABLE) scraped on the date, imported into bronze as parsed items. "
                 "Re-importing a day replaces that day's import file; fetched pages are never touched."),
)
def legacy_import(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    dsn = os.environ.get("SONGNODES_LEGACY_PG_DSN", "").strip()
    table = os.environ.get("SONGNODES_LEGACY_TABLE", "raw_scrape_data").strip() or "raw_scrape_data"
    if not dsn:
        context.log.warning("legacy import not configured: set SONGNODES_LEGACY_PG_DSN to import the old database")
        return dg.MaterializeResult(metadata={"state": "not configured", "rows": 0})
    items = read_day(dsn, table, context.partition_key)
    rows = to_bronze_rows(items, context.partition_key, context.run.run_id)
    df = BRONZE_RAW.conform(rows) if rows else BRONZE_RAW.conform(BRONZE_RAW.arrow().empty_table().to_pandas())
    path = lakehouse.get().write(BRONZE_RAW, df, context.partition_key, file_name=LEGACY_FILE)
    by_type: dict[str, int] = {}
    for it in items:
        by_type[str(it.get("scrape_type"))] = by_type.get(str(it.get("scrape_type")), 0) + 1
    context.log.info(f"imported {len(rows)} legacy rows for {context.partition_key}: {by_type}")
    return dg.MaterializeResult(metadata={"rows": len(rows), "by_scrape_type": dg.MetadataValue.json(by_type),
                                          "table": table, "path": str(path)})
