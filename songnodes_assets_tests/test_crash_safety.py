"""SIGKILL at any point leaves no partial parquet visible and no corrupt catalog or instance; re-running
completes and equals an uninterrupted run (bronze, silver and one enrichment source).

The module builds the uninterrupted run once (one sample site and one set of fake APIs for all tests): bronze
and silver, copied aside as they stand, then lastfm on top. A test that starts from "bronze and silver done"
gets its own copy of that state (Dagster home, lakehouse, cache) instead of fetching and parsing it again. The
three bronze kills run side by side, each with its own home and its own (slowed) sample site."""

import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.enrich.runner import queries_from_tracks
from songnodes_assets.lib.enrich.selection import tracks_first_seen
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import (BRONZE_RAW, ENRICHMENT, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS,
                                          SILVER_TRACKS, SILVER_TRANSITIONS)
from songnodes_assets.sample_site.fake_apis import SOURCES, FakeApis
from songnodes_assets.sample_site.server import SampleSite

REPO = Path(__file__).resolve().parents[1]
DATE = "2024-05-01"
CHILD = """
import sys, dagster as dg
from songnodes_assets.definitions import build_definitions
from songnodes_assets.settings import Settings
keys = [dg.AssetKey(k.split("/")) for k in sys.argv[2].split(",")]
defs = build_definitions(Settings.from_env())
job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(keys))
for _ in range(int(sys.argv[3])):
    job.execute_in_process(instance=dg.DagsterInstance.get(), partition_key=sys.argv[1], raise_on_error=False)
"""
BRONZE_KEYS = "bronze/raw_scrape_data"
SILVER_KEYS = "silver/playlists,silver/playlist_tracks,silver/tracks,silver/transitions,silver/problems"


def env_for(tmp: Path, site=None, apis=None, name="run") -> dict:
    env = {**os.environ, "DAGSTER_HOME": str(tmp / f"{name}_home"), "SONGNODES_LAKEHOUSE_ROOT": str(tmp / f"{name}_lake"),
           "SONGNODES_CACHE_DIR": str(tmp / f"{name}_cache"), "SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0"}
    Path(env["DAGSTER_HOME"]).mkdir(exist_ok=True)
    if site is not None:
        env.update({"SONGNODES_MIXESDB_BASE_URL": site.base_url,
                    "SONGNODES_MIXESDB_START_URLS": f"{site.base_url}/w/Special:RecentChanges"})
    if apis is not None:
        env.update(apis.env())
        # paced (a kill lands between lookups, ~70 of them), not slowly: 20 ms apart on the local fakes
        env.update({f"SONGNODES_{s.upper()}_MIN_INTERVAL_S": "0.02" for s in SOURCES})
    return env


STATE_KEYS = ("DAGSTER_HOME", "SONGNODES_LAKEHOUSE_ROOT", "SONGNODES_CACHE_DIR")


def copy_of(built: dict, tmp: Path, name: str) -> dict:
    """An environment of its own (env_for ``name``) holding a copy of the built bronze-and-silver state."""
    env = {**built["silver_done"]}
    for key in STATE_KEYS:
        env[key] = env[key].replace(str(built["tmp"] / "silver_done"), str(tmp / name))
        if Path(built["silver_done"][key]).exists():  # the cache: made by the first API lookup
            shutil.copytree(built["silver_done"][key], env[key], dirs_exist_ok=True)
    return env


@pytest.fixture(scope="module")
def services():
    """The sample site of the uninterrupted run and the fake APIs (their log counts the lookups of each test)."""
    with SampleSite() as site, FakeApis() as apis:
        yield site, apis


@pytest.fixture(scope="module")
def built(services, tmp_path_factory):
    """The uninterrupted run: ``silver_done`` = bronze and silver as they stand after one run (a copy: nothing
    runs on it), ``ref`` = the same run's home after enrichment/lastfm too."""
    site, apis = services
    tmp = tmp_path_factory.mktemp("built")
    with pytest.MonkeyPatch.context() as mp:  # conftest's isolation (its fixture is per test): no SONGNODES_*
        for key in list(os.environ):           # of the developer's, every other remote a closed local port
            if key.startswith("SONGNODES_") and key not in ("SONGNODES_CORPUS", "SONGNODES_HYPOTHESIS_EXAMPLES"):
                mp.delenv(key)
        for name in ("MIXESDB", "MUSICBRAINZ", "SPOTIFY", "LASTFM", "DISCOGS", "GETSONGBPM", "ACOUSTICBRAINZ"):
            mp.setenv(f"SONGNODES_{name}_BASE_URL", "http://127.0.0.1:9")
        mp.setenv("SONGNODES_SPOTIFY_AUTH_URL", "http://127.0.0.1:9/api/token")
        ref = env_for(tmp, site, apis, name="ref")
        silver_done = env_for(tmp, site, apis, name="silver_done")
    run(ref, f"{BRONZE_KEYS},{SILVER_KEYS}")
    for key in STATE_KEYS:
        if Path(ref[key]).exists():
            shutil.copytree(ref[key], silver_done[key], dirs_exist_ok=True)
    run(ref, "enrichment/lastfm")
    return {"tmp": tmp, "ref": ref, "silver_done": silver_done}


def run(env, keys, repeat=1, kill_after=None, kill_when=None):
    """Run the child; SIGKILL it after ``kill_after`` seconds or as soon as ``kill_when()`` is true."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, DATE, keys, str(repeat)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None and kill_when is None:
        assert proc.wait(300) == 0
        return
    deadline = time.time() + 120
    start = time.time()
    while time.time() < deadline and proc.poll() is None:
        if (kill_when is not None and kill_when()) or (kill_after is not None and time.time() - start >= kill_after):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the child finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def assert_consistent(env):
    """Every visible parquet file is whole; the DuckDB catalog and the Dagster instance still open."""
    root = Path(env["SONGNODES_LAKEHOUSE_ROOT"])
    for f in root.rglob("*.parquet"):
        assert not f.name.startswith("_"), f
        pq.read_table(f)  # raises on a truncated file
    con = connect(root)
    for t in ("bronze.raw_scrape_data", "silver.playlists", "silver.playlist_tracks", "silver.tracks",
              "silver.transitions"):
        con.execute(f"SELECT count(*) FROM {t}").fetchone()
    with environment(env):
        with dg.DagsterInstance.get() as instance:
            assert instance.get_runs() is not None


@contextlib.contextmanager
def environment(env: dict):
    """os.environ replaced by ``env`` for the block (the instance reads DAGSTER_HOME and SONGNODES_PG_*)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def silver_frames(env) -> dict:
    lake = Lakehouse(env["SONGNODES_LAKEHOUSE_ROOT"])
    out = {}
    for spec in (SILVER_PLAYLISTS, SILVER_PLAYLIST_TRACKS, SILVER_TRACKS, SILVER_TRANSITIONS):
        df = lake.read(spec, DATE)
        out[spec.name] = df.drop(columns=[c for c in ("fetched_at", "first_seen_at", "url", "sha256") if c in df])
    return out


def test_sigkill_during_bronze_and_silver(tmp_path, built):
    ref = built["silver_done"]  # the uninterrupted bronze and silver
    ref_bronze = Lakehouse(ref["SONGNODES_LAKEHOUSE_ROOT"]).read(BRONZE_RAW, DATE)
    want = silver_frames(ref)
    in_process = threading.Lock()  # the checks in this process swap os.environ: one at a time

    def attempt(n: int, pages: int) -> None:
        # a site of its own (same pages, same 0.15 s a page): the kill counts this attempt's fetches only
        with SampleSite(page_delay_s=0.15) as site:
            env = env_for(tmp_path, site, name=f"crash{n}")
            run(env, f"{BRONZE_KEYS},{SILVER_KEYS}",
                kill_when=lambda: sum("action=raw" in p for p in site.requests) >= pages)
            with in_process:
                assert_consistent(env)
            run(env, f"{BRONZE_KEYS},{SILVER_KEYS}")  # re-run completes...
        with in_process:
            assert_consistent(env)
            bronze = Lakehouse(env["SONGNODES_LAKEHOUSE_ROOT"]).read(BRONZE_RAW, DATE)
            assert set(bronze["page_title"]) == set(ref_bronze["page_title"])  # nothing lost
            got = silver_frames(env)
        for name in want:  # ...and equals the uninterrupted run
            pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False)

    # killed after the 1st, 6th, 11th of 12 page fetches: three attempts side by side, each in its own home
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        for done in [pool.submit(attempt, n, pages) for n, pages in enumerate([1, 6, 11])]:
            done.result()


def test_sigkill_while_silver_rewrites_its_files(tmp_path, built):
    env = copy_of(built, tmp_path, "s")  # bronze and silver done
    want = silver_frames(env)
    for kill_after in (3.0, 3.7, 4.4):  # the child re-materialises silver in a loop; kill it mid-way
        run(env, SILVER_KEYS, repeat=200, kill_after=kill_after)
        assert_consistent(env)
        got = silver_frames(env)
        for name in want:
            pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False)


def test_sigkill_during_enrichment(tmp_path, services, built):
    _, apis = services
    ref = built["ref"]  # bronze, silver and lastfm, uninterrupted
    env = copy_of(built, tmp_path, "ecrash")  # bronze and silver done, lastfm not yet (its cache empty)
    before = len(apis.log["lastfm"])
    run(env, "enrichment/lastfm", kill_when=lambda: len(apis.log["lastfm"]) - before >= 30)  # of ~70 lookups
    asked = len(apis.log["lastfm"]) - before
    assert 30 <= asked < 69
    assert_consistent(env)
    run(env, "enrichment/lastfm")
    assert_consistent(env)
    cols = ["track_id", "status", "source_id", "score", "tier", "duration_ms"]
    got = Lakehouse(env["SONGNODES_LAKEHOUSE_ROOT"]).read(ENRICHMENT["lastfm"], DATE)[cols]
    want = Lakehouse(ref["SONGNODES_LAKEHOUSE_ROOT"]).read(ENRICHMENT["lastfm"], DATE)[cols]
    pd.testing.assert_frame_equal(got.sort_values("track_id").reset_index(drop=True),
                                  want.sort_values("track_id").reset_index(drop=True), check_dtype=False)
    # what was answered before the kill was cached: the re-run asked only for the rest
    assert len(apis.log["lastfm"]) - before < asked + len(want)


def test_sigkill_on_the_postgres_instance_and_run_monitoring(tmp_path, services, built):
    """Production instance (deploy/postgres/dagster.yaml on the real PostgreSQL): a SIGKILLed run stays STARTED and
    holds its pool slot; the daemon's run monitoring, through the launcher's run worker health check (the
    production max_runtime of 6 h is kept), fails it within a poll interval and frees the slot, so the re-run
    of the partition is not blocked and completes."""
    import yaml

    from .pg import pg_environment, temporary_database

    _, apis = services
    with temporary_database("songnodes_crash") as db:
        env = {**copy_of(built, tmp_path, "pg"), **pg_environment(db)}  # the lakehouse: bronze and silver done
        shutil.rmtree(env["DAGSTER_HOME"])  # the instance: PostgreSQL's, fresh
        Path(env["DAGSTER_HOME"]).mkdir()
        config = yaml.safe_load((REPO / "deploy" / "postgres" / "dagster.yaml").read_text())
        assert config["run_monitoring"]["max_runtime_seconds"] == 21600
        config["run_monitoring"].update(poll_interval_seconds=2, free_slots_after_run_end_seconds=1)
        (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(yaml.safe_dump(config))
        before = len(apis.log["lastfm"])
        run(env, "enrichment/lastfm", kill_when=lambda: len(apis.log["lastfm"]) - before >= 30)
        assert_consistent(env)
        with environment(env), dg.DagsterInstance.get() as instance:
            (zombie,) = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            claimed = instance.event_log_storage.get_concurrency_info("api_lastfm").claimed_slots
            assert [slot.run_id for slot in claimed] == [zombie.run_id]  # the pool is blocked by a dead run

        # the daemon alone (no code location: no sensor or automation may launch runs meanwhile)
        (tmp_path / "no_code.yaml").write_text("load_from: []\n")
        daemon_log = (tmp_path / "daemon.log").open("w")
        started = time.time()
        daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w",
                                   str(tmp_path / "no_code.yaml")], env=env, cwd=tmp_path, stdout=daemon_log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                with environment(env), dg.DagsterInstance.get() as instance:
                    status = instance.get_run_by_id(zombie.run_id).status
                    claimed = instance.event_log_storage.get_concurrency_info("api_lastfm").claimed_slots
                if status == dg.DagsterRunStatus.FAILURE and not claimed:
                    break
                time.sleep(0.5)
        finally:
            daemon.terminate()
            daemon.wait(60)
            daemon_log.close()
        assert (status, claimed) == (dg.DagsterRunStatus.FAILURE, []), (tmp_path / "daemon.log").read_text()[-3000:]
        freed_after = time.time() - started
        print(f"slot freed {freed_after:.1f} s after the daemon started (poll 2 s)")
        assert freed_after < 60
        with environment(env), dg.DagsterInstance.get() as instance:
            messages = [e.message for e in instance.all_logs(zombie.run_id) if e.message]
        assert any("is gone" in m for m in messages), messages[-5:]

        run(env, "enrichment/lastfm")  # would wait for the slot forever without run monitoring
        assert_consistent(env)
        with environment(env), dg.DagsterInstance.get() as instance:
            latest = instance.get_runs(limit=1)[0]
            assert latest.status == dg.DagsterRunStatus.SUCCESS
        lake = Lakehouse(env["SONGNODES_LAKEHOUSE_ROOT"])
        wanted = [q.track_id for q in queries_from_tracks(tracks_first_seen(lake, DATE))]
        lastfm = lake.read(ENRICHMENT["lastfm"], DATE)
        assert len(wanted) > 50 and sorted(lastfm["track_id"]) == sorted(wanted)  # every track, once
        assert "failed" not in set(lastfm["status"])
