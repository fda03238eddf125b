"""Alert sensors (running by default). Each gathers its signals from the Dagster instance and/or the
lakehouse, evaluates a rule of lib/alert_rules.py, and emits an alert only when a condition changes
state (state in the cursor). Alerts go to the run log, the ``ops.alerts`` table and the webhook."""

import datetime as dt
import json
import os
import time

import dagster as dg

from ...lib import alert_rules as rules
from ...lib.alerts import AlertState, Condition, open_alerts, post_webhook, write_alerts
from ...lib.enrich.state_backend import open_state
from ...lib.enrich.sources import SOURCES
from ...lib.enrich.sources.base import env_bool
from ...lib.iceberg_lakehouse import open_lake
from ...lib.lakehouse import Lakehouse
from ...lib.schemas import ENRICHMENT
from ...settings import Settings
from ..metadata import table_kinds

BRONZE = dg.AssetKey(["bronze", "raw_scrape_data"])
SILVER_PLAYLISTS = dg.AssetKey(["silver", "playlists"])
SILVER_PLAYLIST_TRACKS = dg.AssetKey(["silver", "playlist_tracks"])
SILVER_TRACKS = dg.AssetKey(["silver", "tracks"])
INTERVAL_S = 300
OPS_ALERTS_KEY = dg.AssetKey(["ops", "alerts"])

# The alerts as an asset of the graph: every alert sensor that fires or clears an alert materialises it,
# with the alerts open right now (all sensors) in its metadata: "what is wrong right now" in the UI.
ops_alerts = dg.AssetSpec(
    OPS_ALERTS_KEY, group_name="ops", kinds=table_kinds(),
    description=("Alerts open right now (materialised by the alert sensors whenever an alert fires or clears): "
                 "metadata open_alerts, critical, warning and the list; full history in the ops.alerts table."))


def alerts_event(lake: Lakehouse, sensor_name: str, changed: int) -> dg.AssetMaterialization:
    current = open_alerts(lake)
    lines = [f"- **{a['severity'].upper()}** `{a['key']}`: {a['message']} (since {a['since'][:19]})" for a in current]
    return dg.AssetMaterialization(asset_key=OPS_ALERTS_KEY, metadata={
        "open_alerts": len(current), "critical": sum(a["severity"] == "critical" for a in current),
        "warning": sum(a["severity"] == "warning" for a in current), "changed_by": sensor_name,
        "changes": changed, "open": dg.MetadataValue.md("\n".join(lines) or "no open alerts"),
        "alerts": dg.MetadataValue.json(current)})


def materializations(instance: dg.DagsterInstance, key: dg.AssetKey, after: float, limit: int = 500) -> list[rules.Mat]:
    """Newest materialisations of ``key`` since ``after`` (plain values, newest first)."""
    result = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, after_timestamp=after), limit=limit)
    out = []
    for rec in result.records:
        mat = rec.asset_materialization
        md = {k: getattr(v, "value", v) for k, v in (mat.metadata or {}).items()} if mat else {}
        out.append(rules.Mat(rec.timestamp, mat.partition if mat else None, md))
    return out


def emit(context, sensor_name: str, conditions: list[Condition], state: AlertState):
    """Turn state changes into alerts and send them to the log, ops.alerts, the webhook and (as a
    materialisation of ops/alerts) the UI. Returns the sensor's result."""
    alerts = state.apply(sensor_name, conditions, dt.datetime.now(dt.timezone.utc))
    for a in alerts:
        (context.log.error if a.state == "firing" and a.severity == "critical" else context.log.warning)(a.message)
    events = []
    lake = open_lake(Settings.from_env().lakehouse_root)
    if alerts:
        write_alerts(lake, alerts)
        error = post_webhook(os.environ.get("SONGNODES_ALERT_WEBHOOK_URL"), alerts)
        if error:
            context.log.warning(f"alerts not delivered to the webhook: {error}")
    # on a change, and once on a fresh instance, so ops/alerts says "0 open" rather than "never materialized"
    if alerts or context.instance.get_latest_materialization_event(OPS_ALERTS_KEY) is None:
        events.append(alerts_event(lake, sensor_name, len(alerts)))
    firing = sorted(k for k, v in state.states.items() if v["severity"] != "ok")
    message = f"{len(alerts)} alert(s) emitted; firing now: {', '.join(firing) or 'none'}"
    if events:
        return dg.SensorResult(asset_events=events, skip_reason=message)
    return dg.SkipReason(message)


def _alert_sensor(name: str, description: str):
    def decorator(fn):
        @dg.sensor(name=name, description=description, minimum_interval_seconds=INTERVAL_S,
                   default_status=dg.DefaultSensorStatus.RUNNING)
        def _sensor(context: dg.SensorEvaluationContext):
            state = AlertState.load(context.cursor)
            result = emit(context, name, fn(context.instance, time.time(), rules.Thresholds.from_env()), state)
            context.update_cursor(state.dump())
            return result

        return _sensor

    return decorator


@_alert_sensor("alert_zero_enhanced_tracks",
               "CRITICAL when bronze keeps materialising pages but silver.tracks gains no rows in 6 h "
               "(SONGNODES_ALERT_ZERO_TRACKS_WINDOW_H).")
def alert_zero_enhanced_tracks(instance, now, t):
    after = now - t.zero_tracks_window_h * 3600
    return rules.zero_enhanced_tracks(materializations(instance, BRONZE, after),
                                      materializations(instance, SILVER_TRACKS, after), now, t)


@_alert_sensor("alert_parse_quality",
               "CRITICAL when > 10 % of playlists parse to 0 entries, WARNING when playlists average < 5 entries "
               "(per parser version; SONGNODES_ALERT_EMPTY_PLAYLIST_SHARE, SONGNODES_ALERT_MIN_TRACKS_PER_PLAYLIST).")
def alert_parse_quality(instance, now, t):
    return rules.parse_quality(materializations(instance, SILVER_PLAYLISTS, now - t.lookback_h * 3600), t)


@_alert_sensor("alert_artist_coverage_drop",
               "WARNING when artist coverage drops > 5 points against the previous day "
               "(SONGNODES_ALERT_COVERAGE_DROP_POINTS).")
def alert_artist_coverage_drop(instance, now, t):
    return rules.artist_coverage_drop(materializations(instance, SILVER_PLAYLIST_TRACKS, now - t.lookback_h * 3600), t)


@_alert_sensor("alert_duplicate_rate",
               "WARNING when > 30 % of fetched pages are unchanged duplicates of earlier fetches "
               "(SONGNODES_ALERT_DUPLICATE_RATE).")
def alert_duplicate_rate(instance, now, t):
    return rules.duplicate_rate(materializations(instance, BRONZE, now - t.lookback_h * 3600, limit=1), t)


@_alert_sensor("alert_bronze_silver_lag",
               "WARNING when a bronze partition is more than 1 h newer than its silver (SONGNODES_ALERT_LAG_H).")
def alert_bronze_silver_lag(instance, now, t):
    after = now - t.lookback_h * 3600
    return rules.bronze_silver_lag(materializations(instance, BRONZE, after),
                                   materializations(instance, SILVER_PLAYLISTS, after), now, t)


def _newest_enrichment(lake: Lakehouse, source: str):
    parts = lake.partitions(ENRICHMENT[source])
    if not parts:
        return None, None
    return lake.read(ENRICHMENT[source], parts[-1]), parts[-1]


@_alert_sensor("alert_enrichment_health",
               "Per source: CRITICAL when < 70 % (WARNING < 85 %) of lookups succeed, CRITICAL when the circuit "
               "breaker has been open > 5 min or no call succeeded in 1 h while calls fail, WARNING when the cache "
               "hit rate is < 30 % over 24 h.")
def alert_enrichment_health(instance, now, t):
    settings = Settings.from_env()
    lake = open_lake(settings.lakehouse_root, settings.table_format)
    out: list[Condition] = []
    with open_state(settings.state_url, settings.cache_dir) as state:  # every host's health when shared
        store = state.health()
        health = {source: store.get(source) for source in SOURCES}
    for source in SOURCES:
        rows, partition = _newest_enrichment(lake, source)
        out += rules.enrichment_success(source, rows, partition, t)
        h = health[source]
        out += rules.breaker_open(source, h, now, t)
        enabled = env_bool(f"SONGNODES_{source.upper()}_ENABLED", True)
        out += rules.no_successful_call(source, h, enabled, now, t)
        out += rules.cache_hit_rate(source, materializations(instance, dg.AssetKey(["enrichment", source]),
                                                             now - t.cache_window_h * 3600), now, t)
    return out


@dg.sensor(name="alert_run_failures", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="CRITICAL for every job whose newest run failed; RESOLVED when a later run of it succeeds.")
def alert_run_failures(context: dg.SensorEvaluationContext):
    raw = json.loads(context.cursor) if context.cursor else {}
    since = raw.get("since") or (time.time() - 24 * 3600)
    records = context.instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS],
                      updated_after=dt.datetime.fromtimestamp(since, dt.timezone.utc)),
        limit=500, order_by="update_timestamp", ascending=True)
    state = AlertState(states=raw.get("states", {}))
    latest: dict[str, Condition] = {}  # several runs of one job in one tick: the newest verdict counts
    newest = since
    for rec in records:
        run = rec.dagster_run
        newest = max(newest, rec.update_timestamp.timestamp())
        key = f"run_failure:{run.job_name}"
        partition = run.tags.get("dagster/partition")
        where = f" (partition {partition})" if partition else ""
        if run.status == dg.DagsterRunStatus.FAILURE:
            latest[key] = Condition(key, "critical", f"run {run.run_id} of {run.job_name} failed{where}")
        else:
            latest[key] = Condition(key, "ok", f"run {run.run_id} of {run.job_name} succeeded{where}")
    result = emit(context, "alert_run_failures", list(latest.values()), state)
    context.update_cursor(json.dumps({"since": newest, "states": state.states}))
    return result


alert_sensors = [alert_zero_enhanced_tracks, alert_parse_quality, alert_artist_coverage_drop, alert_duplicate_rate,
                 alert_bronze_silver_lag, alert_enrichment_health, alert_run_failures]
