"""The retry sensor and the schedules, on a real instance with real (failed and repaired) runs."""

import datetime as dt

import dagster as dg
import pytest

from songnodes_assets.defs.automation.retry import retry_failed_enrichments
from songnodes_assets.defs.automation.schedules import daily_scrape, weekly_not_found_sweep
from songnodes_assets.defs.enrichment.factory import enrichment_assets
from songnodes_assets.defs.resources import resources_from_settings
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import ENRICHMENT, SILVER_TRACKS
from songnodes_assets.sample_site.fake_apis import SOURCES, FakeApis
from songnodes_assets.settings import Settings

TODAY = dt.datetime.now(dt.timezone.utc).date()
DAY = (TODAY - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def apis(tmp_path, monkeypatch):
    with FakeApis() as f:
        for k, v in f.env().items():
            monkeypatch.setenv(k, v)
        for s in SOURCES:
            monkeypatch.setenv(f"SONGNODES_{s.upper()}_MIN_INTERVAL_S", "0")
        monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
        monkeypatch.setenv("SONGNODES_API_MAX_TRIES", "1")
        monkeypatch.setenv("SONGNODES_BREAKER_FAIL_MAX", "2")
        monkeypatch.setenv("SONGNODES_RETRY_MIN_INTERVAL_MIN", "0")
        yield f


def silver_tracks(catalog, day):
    rows = [{"track_id": t.track_id, "artists": t.artists, "featured": [], "title": t.title, "remixers": t.remixers,
             "version": None, "label": None, "catalog_number": None, "is_mashup": False,
             "first_seen_at": dt.datetime.now(dt.timezone.utc), "first_seen_playlist_id": "p", "n_occurrences": 1,
             "scrape_date": day, "parser_version": "t"} for t in catalog]
    lake = Lakehouse(Settings.from_env().lakehouse_root)
    lake.write(SILVER_TRACKS, SILVER_TRACKS.conform(rows), day)
    return lake


def materialize(source, instance):
    asset = next(a for a in enrichment_assets if a.key.path[-1] == source)
    return dg.materialize([asset], partition_key=DAY, instance=instance, raise_on_error=False,
                          resources=resources_from_settings(Settings.from_env()))


def tick(instance, cursor=None):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor)
    return retry_failed_enrichments(ctx), ctx.cursor


def test_retry_sensor_requests_exactly_the_failed_partition_then_nothing(apis):
    silver_tracks(apis.catalog[:20], DAY)
    with dg.DagsterInstance.ephemeral() as instance:
        result, cursor = tick(instance)
        assert isinstance(result, dg.SkipReason)  # nothing failed yet
        apis.set_fault("spotify", "503")
        assert not materialize("spotify", instance).success
        assert materialize("lastfm", instance).success
        result, cursor = tick(instance, cursor)
        assert [(r.asset_selection, r.partition_key) for r in result] == [([dg.AssetKey(["enrichment", "spotify"])], DAY)]
        apis.set_fault("spotify", None)
        assert materialize("spotify", instance).success  # the repair (what the requested run does)
        result, _ = tick(instance, cursor)
        assert isinstance(result, dg.SkipReason)


def test_retry_sensor_spaces_out_requests_for_a_source_still_down(apis, monkeypatch):
    monkeypatch.setenv("SONGNODES_RETRY_MIN_INTERVAL_MIN", "30")
    silver_tracks(apis.catalog[:10], DAY)
    with dg.DagsterInstance.ephemeral() as instance:
        apis.set_fault("discogs", "503")
        assert not materialize("discogs", instance).success
        first, cursor = tick(instance)
        again, _ = tick(instance, cursor)
        assert len(first) == 1 and isinstance(again, dg.SkipReason)


def test_partition_with_retriable_rows_is_retried_even_if_it_materialised(apis, monkeypatch):
    monkeypatch.setenv("SONGNODES_ENRICH_MAX_FAILURE_RATE", "0.9")  # a few failures do not fail the partition
    monkeypatch.setenv("SONGNODES_BREAKER_FAIL_MAX", "5")
    silver_tracks(apis.catalog[:20], DAY)
    with dg.DagsterInstance.ephemeral() as instance:
        apis.set_fault("getsongbpm", "503", remaining=2)
        assert materialize("getsongbpm", instance).success
        rows = Lakehouse(Settings.from_env().lakehouse_root).read(ENRICHMENT["getsongbpm"], DAY)
        assert (rows["status"] == "failed").sum() >= 1
        result, _ = tick(instance)
        assert [r.partition_key for r in result] == [DAY]


def test_daily_scrape_schedule_requests_todays_partition():
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.timezone.utc))
    req = daily_scrape(ctx)
    assert req.partition_key == "2026-11-22" and req.run_key == "scrape-2026-11-22"


def test_weekly_sweep_targets_partitions_with_old_not_found_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    lake = Lakehouse(tmp_path / "lake")
    spec = ENRICHMENT["musicbrainz"]
    now = dt.datetime.now(dt.timezone.utc)

    def rows(status, age_days, day):
        return spec.conform([{c: None for c in spec.column_names} | {
            "track_id": "t", "source": "musicbrainz", "status": status, "is_retriable": False, "attempts": 1,
            "api_calls": 1, "cache_hits": 0, "genres": [], "tags": [], "fetched_at": now - dt.timedelta(days=age_days),
            "scrape_date": day, "source_version": "1"}])

    lake.write(spec, rows("not_found", 45, "2024-01-01"), "2024-01-01")
    lake.write(spec, rows("not_found", 3, "2024-02-01"), "2024-02-01")
    lake.write(spec, rows("matched", 90, "2024-03-01"), "2024-03-01")
    reqs = weekly_not_found_sweep(dg.build_schedule_context(scheduled_execution_time=now))
    assert [(r.asset_selection[0].path[-1], r.partition_key) for r in reqs] == [("musicbrainz", "2024-01-01")]


def test_cli_lists_failed_partitions_with_the_backfill_command(apis):
    import os
    import subprocess
    import sys

    silver_tracks(apis.catalog[:10], DAY)
    with dg.DagsterInstance.get() as instance:  # the persistent instance in DAGSTER_HOME
        apis.set_fault("spotify", "503")
        assert not materialize("spotify", instance).success
    out = subprocess.run([sys.executable, "-m", "songnodes_assets.cli", "failed-partitions"], capture_output=True,
                         text=True, env=dict(os.environ), timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"spotify: {DAY}" in out.stdout
    assert f"dagster job backfill -w workspace.yaml -j enrich_spotify --partitions {DAY}" in out.stdout
