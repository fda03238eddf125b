"""Self-repair of enrichment: a sensor that requests runs for enrichment partitions that failed or
hold retriable failures, bounded per tick (one partition per source: each source's pool runs one at a
time anyway), and spaced out so a source that is still down is not hammered."""

import datetime as dt
import json
import os
import time

import dagster as dg

from .conditions import DEFAULT_RUNNING

from ...lib.enrich.sources import SOURCES
from ...lib.iceberg_lakehouse import open_lake
from ...lib.lakehouse import Lakehouse
from ...lib.schemas import ENRICHMENT
from ...settings import Settings
from ..partitions import daily_partitions


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def partitions_needing_repair(instance: dg.DagsterInstance, lake: Lakehouse, source: str, today: dt.date,
                              lookback_days: int) -> list[str]:
    """Recent partitions of enrichment/<source> that are FAILED in Dagster or hold retriable failed rows,
    newest first."""
    key = dg.AssetKey(["enrichment", source])
    first = today - dt.timedelta(days=lookback_days)
    keys = [p for p in daily_partitions.get_partition_keys(dynamic_partitions_store=instance)
            if first.isoformat() <= p <= today.isoformat()]
    if not keys:
        return []
    statuses = instance.get_status_by_partition(key, keys, daily_partitions) or {}
    out = {p for p, s in statuses.items() if s == dg.AssetPartitionStatus.FAILED}
    spec = ENRICHMENT[source]
    for p in lake.partitions(spec):
        if p in keys and statuses.get(p) != dg.AssetPartitionStatus.IN_PROGRESS:
            rows = lake.read(spec, p, columns=["status", "is_retriable"])
            if ((rows["status"] == "failed") & rows["is_retriable"]).any():
                out.add(p)
    return sorted(out, reverse=True)


@dg.sensor(
    name="retry_failed_enrichments", minimum_interval_seconds=300, default_status=DEFAULT_RUNNING,
    target=dg.AssetSelection.groups("enrichment"),
    description=("Requests a run for each enrichment partition that failed or holds retriable failures (last "
                 "SONGNODES_RETRY_LOOKBACK_DAYS days), at most one partition per source per tick and not more "
                 "often than every SONGNODES_RETRY_MIN_INTERVAL_MIN minutes per partition."),
)
def retry_failed_enrichments(context: dg.SensorEvaluationContext):
    lookback = _int("SONGNODES_RETRY_LOOKBACK_DAYS", 14)
    min_interval = _int("SONGNODES_RETRY_MIN_INTERVAL_MIN", 30) * 60
    per_tick = _int("SONGNODES_RETRY_MAX_PER_TICK", len(SOURCES))
    last_requested: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    lake = open_lake(Settings.from_env().lakehouse_root)
    now = time.time()
    today = dt.datetime.now(dt.timezone.utc).date()
    requests = []
    for source in SOURCES:
        if len(requests) >= per_tick:
            break
        for p in partitions_needing_repair(context.instance, lake, source, today, lookback):
            tag = f"{source}|{p}"
            if now - last_requested.get(tag, 0.0) < min_interval:
                continue
            last_requested[tag] = now
            requests.append(dg.RunRequest(
                run_key=f"retry-{source}-{p}-{int(now)}", partition_key=p,
                asset_selection=[dg.AssetKey(["enrichment", source])],
                tags={"songnodes/retry_of": source}))
            break  # one partition per source per tick
    # forget entries older than a day so the cursor stays small
    context.update_cursor(json.dumps({k: v for k, v in last_requested.items() if now - v < 86400}))
    if not requests:
        return dg.SkipReason("no failed or retriable enrichment partitions")
    context.log.info("retrying: " + ", ".join(f"{r.asset_selection[0].path[-1]} {r.partition_key}" for r in requests))
    return requests
