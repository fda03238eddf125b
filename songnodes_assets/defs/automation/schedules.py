"""Schedules: the daily scrape (bronze; silver, enrichment and gold follow by declarative automation)
and a weekly sweep that re-asks the sources about tracks they did not know N days ago."""

import datetime as dt
import os

import dagster as dg

from ...lib.enrich.sources import SOURCES
from ...lib.iceberg_lakehouse import open_lake
from ...lib.lakehouse import Lakehouse
from ...lib.schemas import ENRICHMENT
from ...settings import Settings
from ..bronze.raw_scrape_data import RAW_SCRAPE_DATA

SCRAPE_JOB_NAME = "songnodes_scrape"

scrape_job = dg.define_asset_job(
    SCRAPE_JOB_NAME, selection=dg.AssetSelection.assets(RAW_SCRAPE_DATA),
    description="Discover and fetch MixesDB pages into bronze for one scrape date (the rest follows by automation).",
)


def _status() -> dg.DefaultScheduleStatus:
    """Schedules start STOPPED (they reach the live site); SONGNODES_SCHEDULES_RUNNING=1 starts them."""
    on = os.environ.get("SONGNODES_SCHEDULES_RUNNING", "").strip().lower() in ("1", "true", "yes", "on")
    return dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED


@dg.schedule(
    name="daily_scrape", job=scrape_job, cron_schedule=os.environ.get("SONGNODES_SCRAPE_CRON", "0 3 * * *"),
    execution_timezone="UTC", default_status=_status(),
    description="Scrape today's partition (cron: SONGNODES_SCRAPE_CRON, pages per run: SONGNODES_DISCOVERY_LIMIT).",
)
def daily_scrape(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.astimezone(dt.timezone.utc).date().isoformat()
    return dg.RunRequest(run_key=f"scrape-{day}", partition_key=day)


def stale_not_found_partitions(lake: Lakehouse, source: str, older_than: dt.datetime) -> list[str]:
    """Partitions of enrichment/<source> holding "not found" rows fetched before ``older_than``."""
    spec = ENRICHMENT[source]
    out = []
    for p in lake.partitions(spec):
        rows = lake.read(spec, p, columns=["status", "fetched_at"])
        if ((rows["status"] == "not_found") & (rows["fetched_at"] < older_than)).any():
            out.append(p)
    return out


SWEEP_JOB_NAME = "songnodes_not_found_sweep"

sweep_job = dg.define_asset_job(
    SWEEP_JOB_NAME, selection=dg.AssetSelection.groups("enrichment"),
    description="Re-ask one enrichment source about a partition's old not-found tracks (each run selects one asset).",
)


@dg.schedule(
    name="weekly_not_found_sweep", job=sweep_job,
    cron_schedule=os.environ.get("SONGNODES_RESWEEP_CRON", "0 4 * * 1"), execution_timezone="UTC",
    default_status=_status(),
    description=("Re-enrich partitions whose not-found tracks are older than SONGNODES_RESWEEP_AFTER_DAYS (30): the "
                 "not-found cache (7 days) has expired by then, matched tracks cost nothing (cached)."),
)
def weekly_not_found_sweep(context: dg.ScheduleEvaluationContext):
    days = float(os.environ.get("SONGNODES_RESWEEP_AFTER_DAYS", "30"))
    limit = int(os.environ.get("SONGNODES_RESWEEP_MAX_RUNS", "20"))
    lake = open_lake(Settings.from_env().lakehouse_root)
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    week = context.scheduled_execution_time.strftime("%G-W%V")
    requests = []
    for source in SOURCES:
        for p in stale_not_found_partitions(lake, source, cutoff):
            if len(requests) >= limit:
                break
            requests.append(dg.RunRequest(run_key=f"sweep-{week}-{source}-{p}", partition_key=p,
                                          asset_selection=[dg.AssetKey(["enrichment", source])]))
    return requests or dg.SkipReason(f"no not-found rows older than {days:g} days")
