"""Enrichment and gold through Dagster: sample site + fake APIs on 127.0.0.1, real runs, real instance."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from songnodes_assets.defs.jobs import GOLD_JOB_NAME, MAIN_JOB_NAME
from songnodes_assets.defs.partitions import daily_partitions
from songnodes_assets.definitions import build_definitions
from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import ENRICHMENT, GOLD_ENRICHED, SILVER_TRACKS
from songnodes_assets.sample_site.fake_apis import SOURCES, FakeApis
from songnodes_assets.sample_site.server import SampleSite
from songnodes_assets.settings import Settings

DATE = "2024-05-01"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    with SampleSite() as site, FakeApis() as apis:
        values = {
            "SONGNODES_MIXESDB_BASE_URL": site.base_url,
            "SONGNODES_MIXESDB_START_URLS": f"{site.base_url}/w/Special:RecentChanges",
            "SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "lake"), "SONGNODES_CACHE_DIR": str(tmp_path / "cache"),
            "SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0", "SONGNODES_API_MAX_TRIES": "2",
            "SONGNODES_API_BACKOFF_S": "0.01", "SONGNODES_BREAKER_FAIL_MAX": "3", "SONGNODES_BREAKER_RESET_S": "60",
            **apis.env(), **{f"SONGNODES_{s.upper()}_MIN_INTERVAL_S": "0" for s in SOURCES},
        }
        for k, v in values.items():
            monkeypatch.setenv(k, v)
        yield site, apis, tmp_path


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def job(name, instance):
    return build_definitions(Settings.from_env()).resolve_job_def(name).execute_in_process(
        instance=instance, partition_key=DATE, raise_on_error=False)


def materialize(keys, instance):
    defs = build_definitions(Settings.from_env())
    job_def = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(keys))
    return job_def.execute_in_process(instance=instance, partition_key=DATE, raise_on_error=False)


def lake():
    return Lakehouse(os.environ["SONGNODES_LAKEHOUSE_ROOT"])


def status(instance, key):
    return instance.get_status_by_partition(key, [DATE], daily_partitions)[DATE]


def api_calls(apis):
    return {s: len(apis.log[s]) for s in SOURCES}


def test_one_source_down_then_repaired_by_a_backfill(env, instance):
    site, apis, _ = env
    spotify_key = dg.AssetKey(["enrichment", "spotify"])
    apis.set_fault("spotify", "503", after=15)  # token + 14 searches answer, then Spotify goes down
    result = job(MAIN_JOB_NAME, instance)
    assert not result.success
    failed_steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    assert failed_steps == {"enrichment__spotify"}
    assert status(instance, spotify_key) == dg.AssetPartitionStatus.FAILED
    for s in SOURCES:
        if s != "spotify":
            assert status(instance, dg.AssetKey(["enrichment", s])) == dg.AssetPartitionStatus.MATERIALIZED, s
    # what Spotify answered before going down was saved
    sp1 = lake().read(ENRICHMENT["spotify"], DATE)
    matched_before = set(sp1.loc[sp1["status"] == "matched", "track_id"])
    failed_before = set(sp1.loc[sp1["status"] == "failed", "track_id"])
    assert matched_before and failed_before and sp1.loc[sp1["status"] == "failed", "is_retriable"].all()
    assert "circuit_open" in set(sp1["error_class"])

    # gold builds from the sources that worked
    assert job(GOLD_JOB_NAME, instance).success
    g1 = lake().read(GOLD_ENRICHED, DATE).set_index("track_id")
    assert g1.loc[sorted(failed_before), "spotify_id"].isna().all()
    assert all("spotify" in list(v) for v in g1.loc[sorted(failed_before), "sources_failed"])
    assert (g1["status"] == "completed").sum() > len(g1) // 2

    # automation baseline, then Spotify comes back and only the failed partition is backfilled
    defs = build_definitions(Settings.from_env())
    tick1 = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    apis.set_fault("spotify", None)
    before = api_calls(apis)
    backfill = materialize([spotify_key], instance)
    assert backfill.success
    assert status(instance, spotify_key) == dg.AssetPartitionStatus.MATERIALIZED
    after = api_calls(apis)
    assert {s: after[s] - before[s] for s in SOURCES if s != "spotify"} == {s: 0 for s in SOURCES if s != "spotify"}
    new_searches = [p for _, p in apis.log["spotify"][before["spotify"]:] if p.startswith("/spotify/v1/search")]
    # only what was missing is asked again: one distinct title per failed track (a multi-artist credit may
    # cost a query per credited artist before "not found")
    import re
    from urllib.parse import unquote_plus

    titles = {re.search(r'track:"(.*?)"', unquote_plus(p)).group(1) for p in new_searches}
    assert len(titles) == len(failed_before) and len(new_searches) <= 3 * len(failed_before)
    sp2 = lake().read(ENRICHMENT["spotify"], DATE)
    assert set(sp2.loc[sp2["status"] == "matched", "track_id"]) >= matched_before
    assert not (sp2["status"] == "failed").any()

    # declarative automation asks for gold of exactly that date, and gold gains the Spotify fields
    tick2 = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick1.cursor)
    assert tick2.get_requested_partitions(dg.AssetKey(["gold", "enriched_tracks"])) == {DATE}
    assert job(GOLD_JOB_NAME, instance).success
    g2 = lake().read(GOLD_ENRICHED, DATE).set_index("track_id")
    newly = set(sp2.loc[sp2["status"] == "matched", "track_id"]) - matched_before
    assert newly and g2.loc[sorted(newly), "spotify_id"].notna().all()
    assert g2.loc[sorted(newly), "isrc"].notna().all()


def test_warm_cache_rematerialisation_makes_zero_calls(env, instance):
    site, apis, _ = env
    assert job(MAIN_JOB_NAME, instance).success
    first = api_calls(apis)
    assert all(first[s] > 0 for s in SOURCES)
    result = materialize([dg.AssetKey(["enrichment", s]) for s in SOURCES], instance)
    assert result.success
    assert api_calls(apis) == first
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    for s in SOURCES:
        md = mats[f"enrichment/{s}"]
        assert md["api_calls"].value == 0, s
        assert md["cache_hits"].value > 0 or s == "acousticbrainz" and md["cache_hits"].value >= 0


def test_missing_credentials_and_switched_off_sources_are_skipped_with_reason(env, instance, monkeypatch):
    site, apis, _ = env
    monkeypatch.delenv("SONGNODES_DISCOGS_TOKEN")
    monkeypatch.setenv("SONGNODES_ACOUSTICBRAINZ_ENABLED", "off")
    result = job(MAIN_JOB_NAME, instance)
    assert result.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert "SONGNODES_DISCOGS_TOKEN" in mats["enrichment/discogs"]["reason"].value
    assert mats["enrichment/acousticbrainz"]["source_state"].value == "disabled"
    assert len(apis.log["discogs"]) == 0 and len(apis.log["acousticbrainz"]) == 0
    d = lake().read(ENRICHMENT["discogs"], DATE)
    assert set(d["status"]) == {"skipped"} and set(d["error_class"]) == {"no_credentials"}
    # once the token is back the rows are real; losing it again keeps them instead of writing "skipped"
    monkeypatch.setenv("SONGNODES_DISCOGS_TOKEN", "demo-discogs-token")
    lake().partition_dir(ENRICHMENT["discogs"], DATE).joinpath("part.parquet").unlink()
    assert materialize([dg.AssetKey(["enrichment", "discogs"])], instance).success
    monkeypatch.delenv("SONGNODES_DISCOGS_TOKEN")
    assert materialize([dg.AssetKey(["enrichment", "discogs"])], instance).success
    assert "matched" in set(lake().read(ENRICHMENT["discogs"], DATE)["status"])


def test_rejected_credentials_fail_the_partition_after_saving_rows(env, instance, monkeypatch):
    site, apis, _ = env
    monkeypatch.setenv("SONGNODES_LASTFM_API_KEY", "wrong-key-do-not-log")
    result = job(MAIN_JOB_NAME, instance)
    assert {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"} == {"enrichment__lastfm"}
    assert len(apis.log["lastfm"]) == 1  # rejected once, not asked again for every track
    rows = lake().read(ENRICHMENT["lastfm"], DATE)
    assert set(rows["error_class"]) == {"auth_rejected"} and len(rows) > 10
    blob = rows.to_json() + json.dumps([str(e.message) for e in result.all_events])
    assert "wrong-key-do-not-log" not in blob


def test_gold_tables_and_transition_graph_exports(env, instance):
    assert job(MAIN_JOB_NAME, instance).success and job(GOLD_JOB_NAME, instance).success
    con = connect(os.environ["SONGNODES_LAKEHOUSE_ROOT"])
    n_tracks = con.execute("SELECT count(*) FROM silver.tracks").fetchone()[0]
    assert con.execute("SELECT count(*) FROM gold.enriched_tracks").fetchone()[0] == n_tracks
    row = con.execute("""SELECT bpm, bpm_source, camelot, camelot_source, sources_used, status FROM gold.enriched_tracks
                         WHERE bpm IS NOT NULL AND camelot IS NOT NULL LIMIT 1""").fetchone()
    assert row[1] in ("getsongbpm", "acousticbrainz") and row[3] in ("getsongbpm", "acousticbrainz")
    assert row[5] == ("completed" if len(row[4]) >= 2 else "partial")
    edges = con.execute("SELECT count(*), max(weight) FROM gold.transition_graph").fetchone()
    assert edges[0] == con.execute("SELECT count(*) FROM silver.transitions").fetchone()[0] and edges[1] == 3
    out = Path(os.environ["SONGNODES_LAKEHOUSE_ROOT"]) / "gold" / "transition_graph"
    assert {"edges.parquet", "edges.csv", "nodes.parquet", "nodes.csv", "transition_graph.graphml"} <= {
        p.name for p in out.iterdir()}
    assert pd.read_csv(out / "edges.csv")["weight"].max() == 3
    import xml.etree.ElementTree as ET
    graph = ET.parse(out / "transition_graph.graphml").getroot()
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    assert len(graph.findall(f".//{ns}edge")) == edges[0]


LIMITER_CHILD = """
import os, sys, dagster as dg
from songnodes_assets.defs.enrichment.factory import enrichment_assets
from songnodes_assets.defs.resources import resources_from_settings
from songnodes_assets.settings import Settings
asset = next(a for a in enrichment_assets if a.key.path[-1] == "musicbrainz")
res = dg.materialize([asset], partition_key=sys.argv[1], resources=resources_from_settings(Settings.from_env()),
                     instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
sys.exit(0 if res.success else 1)
"""


def test_limiter_holds_the_quota_under_a_concurrent_backfill(env):
    """Three partitions enriched by three processes at once: MusicBrainz still sees <= 1 request per interval."""
    site, apis, tmp_path = env
    interval = 0.1
    catalog = [t for t in apis.catalog if t.known_to("musicbrainz")][:36]
    dates = ["2024-05-01", "2024-05-02", "2024-05-03"]
    import datetime as dt
    for i, d in enumerate(dates):
        part = catalog[i::3]
        rows = [{"track_id": t.track_id, "artists": t.artists, "featured": [], "title": t.title, "remixers": t.remixers,
                 "version": None, "label": None, "catalog_number": None, "is_mashup": False,
                 "first_seen_at": dt.datetime(2024, 5, 1 + i, tzinfo=dt.timezone.utc), "first_seen_playlist_id": "p",
                 "n_occurrences": 1, "scrape_date": d, "parser_version": "t"} for t in part]
        lake().write(SILVER_TRACKS, SILVER_TRACKS.conform(rows), d)
    child_env = {**os.environ, "SONGNODES_MUSICBRAINZ_MIN_INTERVAL_S": str(interval)}
    procs = [subprocess.Popen([sys.executable, "-c", LIMITER_CHILD, d], env=child_env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for d in dates]
    codes = [p.wait(timeout=240) for p in procs]
    assert codes == [0, 0, 0], [p.stderr.read()[-2000:] for p in procs]
    times = sorted(t for t, _ in apis.log["musicbrainz"])
    assert len(times) >= 36
    gaps = [b - a for a, b in zip(times, times[1:])]
    # grants are >= interval apart; arrival times also carry send jitter of a loaded machine, hence 0.5
    assert min(gaps) >= interval * 0.5, min(gaps)
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= round(1 / interval) + 1
