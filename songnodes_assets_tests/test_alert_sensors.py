"""Alert sensors on a real ephemeral Dagster instance holding real materialisation events: each fires on
the bad condition, stays quiet when healthy, fires once (not every tick) and clears."""

import datetime as dt
import json
import time

import dagster as dg
import pandas as pd
import pytest
from werkzeug import Response

from songnodes_assets.defs.automation import alert_sensors as s
from songnodes_assets.lib import alert_rules as rules
from songnodes_assets.lib.alerts import Alert, post_webhook, write_alerts
from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.enrich.health import SourceHealth
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import ENRICHMENT

BRONZE, TRACKS, PLAYLISTS, PT = s.BRONZE, s.SILVER_TRACKS, s.SILVER_PLAYLISTS, s.SILVER_PLAYLIST_TRACKS


@pytest.fixture
def lake_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("SONGNODES_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def instance(lake_env):
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


class Ticker:
    """Runs one sensor tick after another on the same instance, carrying the cursor like the daemon."""

    def __init__(self, sensor, instance):
        self.sensor, self.instance, self.cursor = sensor, instance, None

    def tick(self):
        ctx = dg.build_sensor_context(instance=self.instance, cursor=self.cursor)
        result = self.sensor(ctx)
        self.cursor = ctx.cursor
        return result


def mat(instance, key, partition=None, **metadata):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition, metadata=metadata))


def alerts(lake_env) -> list[tuple]:
    con = connect(lake_env / "lake")
    return con.execute("SELECT sensor, key, severity, state FROM ops.alerts ORDER BY fired_at").fetchall()


def test_headline_zero_enhanced_tracks_while_bronze_keeps_materialising(instance, lake_env, monkeypatch):
    monkeypatch.setenv("SONGNODES_ALERT_ZERO_TRACKS_WINDOW_H", str(5.0 / 3600))  # a 5 s window stands in for 6 h
    t = Ticker(s.alert_zero_enhanced_tracks, instance)
    mat(instance, BRONZE, "2024-05-01", pages_ok=12)
    mat(instance, TRACKS, "2024-05-01", row_count=73)
    t.tick()
    assert alerts(lake_env) == []  # healthy: quiet
    time.sleep(5.1)
    mat(instance, BRONZE, "2024-05-02", pages_ok=12)  # playlists keep arriving...
    mat(instance, TRACKS, "2024-05-02", row_count=0)  # ...but no enhanced tracks
    t.tick()
    assert alerts(lake_env) == [("alert_zero_enhanced_tracks", "zero_enhanced_tracks", "critical", "firing")]
    t.tick()
    t.tick()
    assert len(alerts(lake_env)) == 1  # once per state change, not every tick
    mat(instance, TRACKS, "2024-05-02", row_count=40)  # tracks arrive again
    t.tick()
    assert alerts(lake_env)[-1] == ("alert_zero_enhanced_tracks", "zero_enhanced_tracks", "critical", "cleared")


def test_zero_tracks_rule_uses_a_six_hour_window():
    now = time.time()
    t = rules.Thresholds()
    bronze = [rules.Mat(now - 3600 * h, "d", {"pages_ok": 10}) for h in (1, 3, 5)]
    assert rules.zero_enhanced_tracks(bronze, [rules.Mat(now - 7 * 3600, "d", {"row_count": 50})], now, t)[0].severity == "critical"
    assert rules.zero_enhanced_tracks(bronze, [rules.Mat(now - 5.5 * 3600, "d", {"row_count": 5})], now, t)[0].severity == "ok"
    assert rules.zero_enhanced_tracks([], [], now, t)[0].severity == "ok"  # nothing scraped: nothing to say


def test_parse_quality_per_parser_version(instance, lake_env):
    t = Ticker(s.alert_parse_quality, instance)
    mat(instance, PLAYLISTS, "d1", row_count=20, playlists_with_zero_entries=1, entries_per_playlist=12.0,
        parser_version="v1")
    t.tick()
    assert alerts(lake_env) == []
    mat(instance, PLAYLISTS, "d2", row_count=20, playlists_with_zero_entries=6, entries_per_playlist=3.0,
        parser_version="v2")
    t.tick()
    assert sorted(alerts(lake_env)) == [("alert_parse_quality", "empty_playlists:v2", "critical", "firing"),
                                        ("alert_parse_quality", "tracks_per_playlist:v2", "warning", "firing")]
    t.tick()
    assert len(alerts(lake_env)) == 2
    mat(instance, PLAYLISTS, "d2", row_count=20, playlists_with_zero_entries=0, entries_per_playlist=15.0,
        parser_version="v2")
    t.tick()
    assert {a[1:] for a in alerts(lake_env)[2:]} == {("empty_playlists:v2", "critical", "cleared"),
                                                     ("tracks_per_playlist:v2", "warning", "cleared")}


def test_artist_coverage_drop(instance, lake_env):
    t = Ticker(s.alert_artist_coverage_drop, instance)
    mat(instance, PT, "2024-05-01", artist_coverage_pct=92.0)
    mat(instance, PT, "2024-05-02", artist_coverage_pct=90.0)
    t.tick()
    assert alerts(lake_env) == []
    mat(instance, PT, "2024-05-03", artist_coverage_pct=81.0)
    t.tick()
    t.tick()
    assert alerts(lake_env) == [("alert_artist_coverage_drop", "artist_coverage_drop", "warning", "firing")]
    mat(instance, PT, "2024-05-03", artist_coverage_pct=89.5)  # re-parsed after a fix
    t.tick()
    assert alerts(lake_env)[-1][3] == "cleared"


def test_duplicate_rate(instance, lake_env):
    t = Ticker(s.alert_duplicate_rate, instance)
    mat(instance, BRONZE, "d", duplicate_rate=0.05, pages_ok=20)
    t.tick()
    mat(instance, BRONZE, "d", duplicate_rate=0.6, pages_ok=20)
    t.tick()
    t.tick()
    mat(instance, BRONZE, "d", duplicate_rate=0.1, pages_ok=20)
    t.tick()
    assert [a[3] for a in alerts(lake_env)] == ["firing", "cleared"]


def test_bronze_silver_lag(instance, lake_env, monkeypatch):
    monkeypatch.setenv("SONGNODES_ALERT_LAG_H", str(1.0 / 3600))  # 1 s stands in for 1 h
    t = Ticker(s.alert_bronze_silver_lag, instance)
    mat(instance, BRONZE, "d1", pages_ok=3)
    mat(instance, PLAYLISTS, "d1", row_count=3)
    t.tick()
    mat(instance, BRONZE, "d2", pages_ok=3)
    t.tick()
    assert alerts(lake_env) == []  # not late yet
    time.sleep(1.1)
    t.tick()
    t.tick()
    assert alerts(lake_env) == [("alert_bronze_silver_lag", "bronze_silver_lag", "warning", "firing")]
    mat(instance, PLAYLISTS, "d2", row_count=3)
    t.tick()
    assert alerts(lake_env)[-1][3] == "cleared"


def _enrichment_rows(lake_env, source, statuses, partition="2024-05-01"):
    now = dt.datetime.now(dt.timezone.utc)
    spec = ENRICHMENT[source]
    rows = [{c: None for c in spec.column_names} | {
        "track_id": f"t{i}", "source": source, "status": st, "is_retriable": st == "failed", "attempts": 1,
        "api_calls": 1, "cache_hits": 0, "genres": [], "tags": [], "fetched_at": now, "scrape_date": partition,
        "source_version": "1"} for i, st in enumerate(statuses)]
    Lakehouse(lake_env / "lake").write(spec, spec.conform(rows), partition)


def test_enrichment_success_rate_critical_warning_clear(instance, lake_env):
    t = Ticker(s.alert_enrichment_health, instance)
    _enrichment_rows(lake_env, "spotify", ["matched"] * 9 + ["not_found"])
    t.tick()
    assert alerts(lake_env) == []
    _enrichment_rows(lake_env, "spotify", ["matched"] * 5 + ["failed"] * 5)
    t.tick()
    t.tick()
    _enrichment_rows(lake_env, "spotify", ["matched"] * 8 + ["failed"] * 2)
    t.tick()
    _enrichment_rows(lake_env, "spotify", ["matched"] * 10)
    t.tick()
    got = [a[1:] for a in alerts(lake_env) if a[1].startswith("enrichment_success")]
    assert got == [("enrichment_success:spotify", "critical", "firing"),
                   ("enrichment_success:spotify", "warning", "firing"),
                   ("enrichment_success:spotify", "warning", "cleared")]


def test_breaker_open_and_no_successful_call(instance, lake_env):
    t = Ticker(s.alert_enrichment_health, instance)
    path = lake_env / "cache" / "health.sqlite"
    now = time.time()
    SourceHealth(path, clock=lambda: now - 3 * 3600).success("discogs")
    t.tick()
    assert alerts(lake_env) == []
    SourceHealth(path, clock=lambda: now - 600).breaker_opened("discogs")  # open for 10 minutes
    SourceHealth(path).failure("discogs")  # and calls keep failing
    t.tick()
    t.tick()
    assert sorted(a[1:] for a in alerts(lake_env)) == [("breaker_open:discogs", "critical", "firing"),
                                                       ("no_successful_call:discogs", "critical", "firing")]
    SourceHealth(path).success("discogs")  # a success closes the breaker
    t.tick()
    assert sorted(a[1:] for a in alerts(lake_env)[2:]) == [("breaker_open:discogs", "critical", "cleared"),
                                                          ("no_successful_call:discogs", "critical", "cleared")]


def test_cache_hit_rate(instance, lake_env):
    t = Ticker(s.alert_enrichment_health, instance)
    mat(instance, dg.AssetKey(["enrichment", "lastfm"]), "d", api_calls=90, cache_hits=10)
    t.tick()
    t.tick()
    mat(instance, dg.AssetKey(["enrichment", "lastfm"]), "d", api_calls=0, cache_hits=400)
    t.tick()
    got = [a[1:] for a in alerts(lake_env) if a[1].startswith("cache_hit_rate")]
    assert got == [("cache_hit_rate:lastfm", "warning", "firing"), ("cache_hit_rate:lastfm", "warning", "cleared")]


def test_run_failure_fires_once_and_clears(instance, lake_env):
    @dg.asset
    def flaky(context) -> None:
        if context.run.tags.get("fail") == "1":
            raise RuntimeError("boom")

    job = dg.define_asset_job("flaky_job", selection=[flaky]).resolve(
        asset_graph=dg.Definitions(assets=[flaky]).resolve_asset_graph())
    t = Ticker(s.alert_run_failures, instance)
    t.tick()
    assert job.execute_in_process(instance=instance, tags={"fail": "1"}, raise_on_error=False).success is False
    t.tick()
    assert job.execute_in_process(instance=instance, tags={"fail": "1"}, raise_on_error=False).success is False
    t.tick()
    assert alerts(lake_env) == [("alert_run_failures", "run_failure:flaky_job", "critical", "firing")]
    assert job.execute_in_process(instance=instance, raise_on_error=False).success
    t.tick()
    t.tick()
    assert alerts(lake_env)[-1] == ("alert_run_failures", "run_failure:flaky_job", "critical", "cleared")
    assert len(alerts(lake_env)) == 2


def test_webhook_receives_alerts_without_secrets(httpserver, lake_env, monkeypatch):
    monkeypatch.setenv("SONGNODES_DISCOGS_TOKEN", "planted-discogs-token-123")
    got = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        lambda r: (got.append(json.loads(r.data)), Response("ok"))[1])
    a = Alert("id1", dt.datetime.now(dt.timezone.utc), "alert_x", "k", "critical", "firing",
              "discogs rejected token planted-discogs-token-123", None, None)
    assert post_webhook(httpserver.url_for("/hook"), [a]) is None
    assert "planted" not in json.dumps(got) and got[0]["text"].startswith("discogs rejected token ***")
    write_alerts(Lakehouse(lake_env / "lake"), [a])
    table = pd.concat(pd.read_parquet(p) for p in (lake_env / "lake").rglob("*.parquet"))
    assert "planted" not in table.to_json()
    assert post_webhook("http://127.0.0.1:9/hook", [a]).startswith("webhook unreachable")


def test_alert_sensors_run_by_default():
    from songnodes_assets.definitions import defs

    sensors = {x.name: x for x in defs.sensors}
    assert {"alert_zero_enhanced_tracks", "alert_parse_quality", "alert_artist_coverage_drop", "alert_duplicate_rate",
            "alert_bronze_silver_lag", "alert_enrichment_health", "alert_run_failures",
            "retry_failed_enrichments", "songnodes_automation"} <= set(sensors)
    assert all(x.default_status == dg.DefaultSensorStatus.RUNNING for x in sensors.values())
    assert {x.name for x in defs.schedules} == {"daily_scrape", "weekly_not_found_sweep"}


def test_a_firing_alert_is_visible_on_the_ops_alerts_asset(instance, lake_env, monkeypatch):
    """The sensor's result materialises ops/alerts with the open alerts (the daemon records the event; here the
    test records it the same way), and a cleared alert leaves it."""
    monkeypatch.setenv("SONGNODES_ALERT_ZERO_TRACKS_WINDOW_H", str(5.0 / 3600))
    t = Ticker(s.alert_zero_enhanced_tracks, instance)
    mat(instance, BRONZE, "2024-05-01", pages_ok=12)
    mat(instance, TRACKS, "2024-05-01", row_count=73)
    (first,) = t.tick().asset_events  # a fresh instance: one "0 open" snapshot, never "never materialized"
    assert first.metadata["open_alerts"].value == 0 and first.metadata["open"].value == "no open alerts"
    instance.report_runless_asset_event(first)
    assert isinstance(t.tick(), dg.SkipReason)  # nothing changed: no event
    time.sleep(5.1)
    mat(instance, BRONZE, "2024-05-02", pages_ok=12)
    mat(instance, TRACKS, "2024-05-02", row_count=0)
    result = t.tick()
    (event,) = result.asset_events
    instance.report_runless_asset_event(event)
    md = instance.get_latest_materialization_event(s.OPS_ALERTS_KEY).asset_materialization.metadata
    assert md["open_alerts"].value == 1 and md["critical"].value == 1
    assert md["alerts"].value[0]["key"] == "zero_enhanced_tracks" and "CRITICAL" in md["open"].value
    mat(instance, TRACKS, "2024-05-02", row_count=40)
    (cleared,) = t.tick().asset_events
    assert cleared.metadata["open_alerts"].value == 0
