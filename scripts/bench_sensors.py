"""Benchmark (not a test): one tick of every alert sensor (and of the retry sensor) on a populated instance and
lakehouse with something wrong in it.

    python scripts/bench_sensors.py --events 10000

Builds, in a temp folder (DAGSTER_HOME with the default SQLite storage, SONGNODES_LAKEHOUSE_ROOT,
SONGNODES_CACHE_DIR):

- a lakehouse of ``--lake-days`` daily partitions of silver.playlists, silver.playlist_tracks, silver.tracks and
  the six enrichment tables, written with the project's ``Lakehouse`` and ``TableSpec``s (contract-validated);
- ``--events`` asset materialisations, recorded with the timestamps of pipeline cycles spread over ``--days``
  days (bronze, then the three silver assets a minute later, then the six enrichment sources), each with the
  metadata keys the alert rules read (pages_ok, row_count, duplicate_rate, parser_version,
  playlists_with_zero_entries, entries_per_playlist, artist_coverage_pct, api_calls, cache_hits);
- ``--runs`` real run records of four jobs over the last 3 days (start and success/failure events), a seeded
  10 % failed;
- source health (breaker state, last success/failure) in the cache dir's health.sqlite.

A seeded share (``--unhealthy``, 10 %) of the events carries unhealthy metadata of its asset's kind (duplicate
pages, a parser version emptying playlists, an artist-coverage drop, zero silver tracks, a low cache hit rate),
and the newest state is an incident in which every alert kind must fire: the newest bronze is a re-fetch
90 min ago with 60 % duplicates that silver did not follow, silver.tracks gained 0 rows in 6 h, the newest
partition's coverage dropped, a parser version empties playlists, acousticbrainz's cache hit rate is low,
discogs/getsongbpm's newest enrichment partitions fail 50 %/20 % of lookups, spotify's breaker has been open
10 min, lastfm has had no successful call for 3 h, and the newest run of enrichment_job failed.

Then times one evaluation (first tick, empty cursor) of every alert sensor and of retry_failed_enrichments, and
reports per sensor: time, alerts emitted, the alert keys, and whether every expected kind fired (exit 1 if
not) and whether anything unexpected fired.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = 86400.0
JOBS = ("daily_scrape_job", "silver_job", "enrichment_job", "gold_job")
# sensor -> the alert keys that must fire (prefix match), one per unhealthy kind
EXPECTED = {
    "alert_zero_enhanced_tracks": ["zero_enhanced_tracks"],
    "alert_parse_quality": ["empty_playlists:v-bench-bad", "tracks_per_playlist:v-bench-bad"],
    "alert_artist_coverage_drop": ["artist_coverage_drop"],
    "alert_duplicate_rate": ["duplicate_rate"],
    "alert_bronze_silver_lag": ["bronze_silver_lag"],
    "alert_enrichment_health": ["enrichment_success:discogs", "enrichment_success:getsongbpm", "breaker_open:spotify",
                                "no_successful_call:lastfm", "cache_hit_rate:acousticbrainz"],
    "alert_run_failures": ["run_failure:enrichment_job"],
}


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).date().isoformat()


def frame(spec, n: int, date: str, **columns):
    """``n`` contract-valid rows of ``spec`` for partition ``date``: given columns as they are, others filled
    by kind (str ids made unique by row number)."""
    import pandas as pd

    now = pd.Timestamp.now(tz="UTC")
    fill = {"str": lambda c: [f"{c.name}-{i}" for i in range(n)], "int": lambda c: list(range(n)),
            "float": lambda c: [1.0] * n, "bool": lambda c: [False] * n, "ts": lambda c: [now] * n,
            "bytes": lambda c: [b""] * n, "list": lambda c: [[] for _ in range(n)]}
    data = {}
    for c in spec.columns:
        value = columns.get(c.name, date if c.name == "scrape_date" else None)
        data[c.name] = (value if isinstance(value, list) else [value] * n) if c.name in columns or \
            c.name == "scrape_date" else fill[c.kind](c)
    return spec.conform(pd.DataFrame(data))


def build_lake(lake, days: list[str], rng: random.Random) -> int:
    from songnodes_assets.lib.schemas import ENRICHMENT, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS

    files = 0
    newest = days[-1]
    fail_share = {"discogs": 0.5, "getsongbpm": 0.2}  # the newest partition only; 2 % elsewhere
    for date in days:
        n = 300
        lake.write(SILVER_PLAYLISTS, frame(SILVER_PLAYLISTS, 40, date, parser_version="v-bench", source="mixesdb"), date)
        lake.write(SILVER_PLAYLIST_TRACKS, frame(SILVER_PLAYLIST_TRACKS, 1200, date, parser_version="v-bench",
                                                 source="mixesdb", entry_type="track", outcome="identified"), date)
        lake.write(SILVER_TRACKS, frame(SILVER_TRACKS, n, date, parser_version="v-bench",
                                        track_id=[f"t{date}-{i}" for i in range(n)]), date)
        files += 3
        for source, spec in ENRICHMENT.items():
            share = fail_share.get(source, 0.02) if date == newest else 0.02
            status = []
            for _ in range(n):
                r = rng.random()
                status.append("failed" if r < share else "not_found" if r < share + 0.15 else "matched")
            retriable = [s == "failed" and date == newest for s in status]  # older failures are final (bad_request)
            lake.write(spec, frame(spec, n, date, source=source, status=status, is_retriable=retriable,
                                   error_class=[("server_error" if r else "bad_request") if s == "failed" else None
                                                for s, r in zip(status, retriable)],
                                   track_id=[f"t{date}-{i}" for i in range(n)], source_version="1",
                                   tags=[[] for _ in range(n)], genres=[[] for _ in range(n)]), date)
            files += 1
    return files


def plan_events(n_events: int, days: int, unhealthy: float, now: float, rng: random.Random, keys: dict):
    """[(timestamp, asset key name, partition, metadata, unhealthy kind or None)], oldest first."""
    stages = [("bronze", 0)] + [(k, 60 + 10 * i) for i, k in enumerate(("playlists", "playlist_tracks", "tracks"))] \
        + [(f"enrichment/{s}", 300 + 60 * i) for i, s in enumerate(keys["sources"])]
    cycles = math.ceil(n_events / len(stages))
    start, end = now - days * DAY, now - 2 * 3600
    step = (end - start) / cycles
    events = []
    for c in range(cycles):
        t = start + c * step + rng.uniform(0, step * 0.5)
        for name, offset in stages:
            events.append([t + offset, name, day_of(t), None])
    events = events[len(events) - n_events:]  # exactly n_events; the oldest cycle may lose its first stages
    for e in events:
        if rng.random() < unhealthy:
            e[3] = "bad"
    # the incident: the current state has every alert kind in it (these events are unhealthy too)
    by = lambda name: [e for e in events if e[1] == name]  # noqa: E731
    bronze, playlists, pt, tracks = by("bronze"), by("playlists"), by("playlist_tracks"), by("tracks")
    bronze[-1][0], bronze[-1][3] = now - 90 * 60, "bad"  # re-fetched 90 min ago (60 % duplicates), silver not re-run
    playlists[-1][3] = "bad"  # the newest parse uses a version that empties playlists
    newest_p = pt[-1][2]
    pt[-1][3] = "bad"  # the newest partition's coverage dropped ...
    prev = [e for e in pt if e[2] < newest_p]
    prev[-1][3] = None  # ... against a healthy previous partition
    for e in tracks:
        if e[0] >= now - 6 * 3600:
            e[3] = "bad"  # silver.tracks gained 0 rows in 6 h while bronze fetched pages
    for e in by("enrichment/acousticbrainz"):
        if e[0] >= now - DAY:
            e[3] = "bad"
    events.sort(key=lambda e: e[0])
    return events


def metadata(name: str, bad: bool, rng: random.Random) -> dict:
    if name == "bronze":
        return {"pages_ok": 40, "row_count": 40, "pages_failed": 0,
                "duplicate_rate": 0.6 if bad else round(rng.uniform(0.0, 0.1), 3)}
    if name == "playlists":
        return {"row_count": 40, "playlists_with_zero_entries": 16 if bad else rng.randint(0, 2),
                "entries_per_playlist": 3.0 if bad else round(rng.uniform(20, 35), 1),
                "parser_version": "v-bench-bad" if bad else "v-bench"}
    if name == "playlist_tracks":
        return {"row_count": 1200, "artist_coverage_pct": 70.0 if bad else round(rng.uniform(89.5, 92.0), 1),
                "parser_version": "v-bench"}
    if name == "tracks":
        return {"row_count": 0 if bad else 300, "parser_version": "v-bench"}
    calls, hits = (95, 5) if bad else (20, 80)
    return {"row_count": 300, "api_calls": calls, "cache_hits": hits, "matched": 240, "not_found": 45, "failed": 15,
            "success_pct": 0.95}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000, help="asset materialisations to record")
    ap.add_argument("--days", type=int, default=60, help="days of history the events span")
    ap.add_argument("--lake-days", type=int, default=30, help="daily lakehouse partitions per silver/enrichment table")
    ap.add_argument("--runs", type=int, default=300, help="run records (last 3 days)")
    ap.add_argument("--unhealthy", type=float, default=0.10, help="share of events with unhealthy metadata")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home")
        os.environ["SONGNODES_LAKEHOUSE_ROOT"] = str(Path(tmp) / "lake")
        os.environ["SONGNODES_CACHE_DIR"] = str(Path(tmp) / "cache")
        os.environ.pop("SONGNODES_ALERT_WEBHOOK_URL", None)
        Path(os.environ["DAGSTER_HOME"]).mkdir()
        Path(os.environ["SONGNODES_CACHE_DIR"]).mkdir()
        import dagster as dg
        from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
        from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
        from dagster._core.test_utils import create_run_for_test

        from songnodes_assets.defs.automation import alert_sensors as s
        from songnodes_assets.defs.automation.retry import retry_failed_enrichments
        from songnodes_assets.lib.enrich.health import SourceHealth
        from songnodes_assets.lib.enrich.sources import SOURCES
        from songnodes_assets.lib.lakehouse import Lakehouse

        now = time.time()
        keys = {"bronze": s.BRONZE, "playlists": s.SILVER_PLAYLISTS, "playlist_tracks": s.SILVER_PLAYLIST_TRACKS,
                "tracks": s.SILVER_TRACKS, **{f"enrichment/{x}": dg.AssetKey(["enrichment", x]) for x in SOURCES}}
        keys_arg = {"sources": list(SOURCES)}

        t0 = time.perf_counter()
        lake = Lakehouse(os.environ["SONGNODES_LAKEHOUSE_ROOT"])
        lake_days = [day_of(now - (args.lake_days - 1 - i) * DAY) for i in range(args.lake_days)]
        files = build_lake(lake, lake_days, rng)
        print(f"lakehouse: {files} parquet partitions ({args.lake_days} days x 3 silver + 6 enrichment tables) "
              f"in {time.perf_counter() - t0:.1f} s")

        instance = dg.DagsterInstance.get()
        print(f"instance: {type(instance._event_storage).__name__} + {type(instance._run_storage).__name__} "
              f"under {os.environ['DAGSTER_HOME']}")
        t0 = time.perf_counter()
        events = plan_events(args.events, args.days, args.unhealthy, now, rng, keys_arg)
        bad_by_kind: dict[str, int] = {}
        for ts, name, partition, bad in events:
            mat = dg.AssetMaterialization(asset_key=keys[name], partition=partition,
                                          metadata=metadata(name, bad is not None, rng))
            instance.report_dagster_event(DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value,
                                                       job_name=RUNLESS_JOB_NAME,
                                                       event_specific_data=StepMaterializationData(mat)),
                                          run_id=RUNLESS_RUN_ID, timestamp=ts)
            if bad:
                kind = name.split("/")[0]
                bad_by_kind[kind] = bad_by_kind.get(kind, 0) + 1
        n_bad = sum(bad_by_kind.values())
        print(f"stored {len(events)} materialisations over {args.days} days in {time.perf_counter() - t0:.1f} s; "
              f"unhealthy {n_bad} ({n_bad / len(events):.1%}): {bad_by_kind}")

        t0 = time.perf_counter()
        failed = 0
        run_times = sorted(now - rng.uniform(600, 3 * DAY) for _ in range(args.runs))
        newest_of = {j: max(i for i in range(args.runs) if i % len(JOBS) == JOBS.index(j)) for j in JOBS}
        for i, start in enumerate(run_times):
            job = JOBS[i % len(JOBS)]
            fail = rng.random() < 0.10
            if i == newest_of[job]:
                fail = job == "enrichment_job"  # the newest enrichment run failed; the other jobs' newest succeeded
            run = create_run_for_test(instance, job_name=job, status=dg.DagsterRunStatus.NOT_STARTED,
                                      tags={"dagster/partition": day_of(start)})
            instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=job),
                                          run_id=run.run_id, timestamp=start)
            end_type = DagsterEventType.RUN_FAILURE if fail else DagsterEventType.RUN_SUCCESS
            instance.report_dagster_event(DagsterEvent(end_type.value, job_name=job), run_id=run.run_id,
                                          timestamp=start + rng.uniform(30, 300))
            failed += fail
        n_runs = len(instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE])))
        print(f"recorded {args.runs} runs ({failed} failed; the run storage holds {n_runs} failed) "
              f"in {time.perf_counter() - t0:.1f} s")

        health_path = Path(os.environ["SONGNODES_CACHE_DIR"]) / "health.sqlite"
        for source in SOURCES:  # every source answered 2 min ago ...
            if source != "lastfm":
                SourceHealth(health_path, clock=lambda: now - 120).success(source)
        SourceHealth(health_path, clock=lambda: now - 600).breaker_opened("spotify")  # ... spotify's breaker open 10 min
        SourceHealth(health_path, clock=lambda: now - 3 * 3600).success("lastfm")  # lastfm: nothing good for 3 h
        SourceHealth(health_path, clock=lambda: now - 120).failure("lastfm")  # while its calls keep failing

        print(f"\n{'sensor':<28} {'tick ms':>8} {'alerts':>6}  expected kinds fired   firing alert keys")
        ok = True
        for sensor in [*s.alert_sensors, retry_failed_enrichments]:
            ctx = dg.build_sensor_context(instance=instance, cursor=None)
            t1 = time.perf_counter()
            result = sensor(ctx)
            ms = (time.perf_counter() - t1) * 1000
            if sensor.name == "retry_failed_enrichments":
                reqs = result if isinstance(result, list) else getattr(result, "run_requests", None) or []
                parts = [f"{r.asset_selection[0].path[-1]} {r.partition_key}" for r in reqs]
                print(f"{sensor.name:<28} {ms:8.1f} {'-':>6}  {len(parts)} run request(s): {', '.join(parts)}")
                continue
            message = getattr(getattr(result, "skip_reason", None), "skip_message", None) \
                or getattr(result, "skip_message", "") or ""
            emitted = re.search(r"(\d+) alert\(s\) emitted", message)
            states = json.loads(ctx.cursor).get("states", {}) if ctx.cursor else {}
            firing = sorted(k for k, v in states.items() if v.get("severity") != "ok")
            expected = EXPECTED[sensor.name]
            missing = [k for k in expected if not any(f.startswith(k) for f in firing)]
            unexpected = [f for f in firing if not any(f.startswith(k) for k in expected)]
            ok &= not missing
            verdict = "all" if not missing else f"MISSING {missing}"
            if unexpected:
                verdict += f"; UNEXPECTED {unexpected}"
            print(f"{sensor.name:<28} {ms:8.1f} {emitted.group(1) if emitted else '?':>6}  {verdict:<20} {', '.join(firing)}")
        instance.dispose()
    print("every unhealthy kind fired" if ok else "SOME UNHEALTHY KIND DID NOT FIRE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
