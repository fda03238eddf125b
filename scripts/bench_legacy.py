"""Benchmark (not a test): import one busy day of an old SongNodes raw_scrape_data table, then build silver.

    python scripts/bench_legacy.py --mixes 2000 --tracks-per-mix 25

Creates a scratch database on the local PostgreSQL (SONGNODES_TEST_PG_* or 127.0.0.1:5432, user postgres),
the old DDL (naive ``scraped_at``, no index on it, as the old schema), and per mix the items the old
scrapers wrote: an enhancedsetlist, a playlist (title list), and per track an enhancedsetlisttrack, an
enhancedtrack (raw line in a JSON-string metadata) and an enhancedtrackartist. Then it materialises
bronze/legacy_import and silver for that day and reports rows/s and peak RSS. The database is dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG = {"host": os.environ.get("SONGNODES_TEST_PG_HOST", "127.0.0.1"),
      "port": int(os.environ.get("SONGNODES_TEST_PG_PORT", "5432")),
      "user": os.environ.get("SONGNODES_TEST_PG_USER", "postgres"),
      "password": os.environ.get("SONGNODES_TEST_PG_PASSWORD", "")}
DAY = "2025-10-08"


def old_rows(mixes: int, per_mix: int):
    noon = dt.datetime(2025, 10, 8, 12, 0)
    for m in range(mixes):
        name = f"2025-10-0{1 + m % 7} - DJ {m % 300} - Show {m}"
        at = noon + dt.timedelta(seconds=m)
        yield "enhancedsetlist", {"setlist_name": name, "dj_artist_name": f"DJ {m % 300}", "set_date": name[:10],
                                  "venue_name": f"Club {m % 50}", "total_tracks": per_mix,
                                  "metadata": json.dumps({"source": "mixesdb"})}, at
        yield "playlist", {"item_type": "playlist", "name": name, "dj_name": f"DJ {m % 300}",
                           "tracks": [f"Title {m}-{i}" for i in range(per_mix)]}, at
        for i in range(per_mix):
            artist, title = f"Artist {(m * 7 + i) % 5000}", f"Title {(m * 13 + i) % 20000}"
            line = f"{artist} - {title}"
            yield "enhancedsetlisttrack", {"setlist_name": name, "track_name": title, "track_order": i + 1}, at
            yield "enhancedtrack", {"track_name": title, "source_context": line, "position_in_source": i + 1,
                                    "metadata": json.dumps({"original_string": line, "mix_context": name})}, at
            yield "enhancedtrackartist", {"track_name": title, "artist_name": artist, "artist_role": "primary"}, at


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mixes", type=int, default=2000)
    ap.add_argument("--tracks-per-mix", type=int, default=25)
    args = ap.parse_args()
    import psycopg2
    import psycopg2.extras

    db = f"songnodes_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{db}"')
    try:
        con = psycopg2.connect(dbname=db, **PG)
        with con, con.cursor() as cur:
            cur.execute("""CREATE TABLE raw_scrape_data (scrape_id UUID DEFAULT gen_random_uuid() PRIMARY KEY,
                source VARCHAR(100), scrape_type VARCHAR(50), source_url TEXT, raw_data JSONB,
                processed BOOLEAN DEFAULT FALSE, error_message TEXT, scraped_at TIMESTAMP, processed_at TIMESTAMP)""")
            t0 = time.perf_counter()
            psycopg2.extras.execute_values(
                cur, "INSERT INTO raw_scrape_data (source, scrape_type, raw_data, scraped_at) VALUES %s",
                (("mixesdb", t, json.dumps(r), at) for t, r, at in old_rows(args.mixes, args.tracks_per_mix)),
                page_size=5000)
            cur.execute("SELECT count(*) FROM raw_scrape_data")
            n = cur.fetchone()[0]
        con.close()
        print(f"old table: {n} rows for {DAY} written in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update({"SONGNODES_LAKEHOUSE_ROOT": str(Path(tmp) / "lake"), "DAGSTER_HOME": tmp,
                               "SONGNODES_LEGACY_PG_DSN": " ".join(f"{k}={v}" for k, v in {**PG, "dbname": db}.items() if v != "")})
            import dagster as dg

            from songnodes_assets.defs.bronze.legacy_import import legacy_import
            from songnodes_assets.defs.resources import resources_from_settings
            from songnodes_assets.defs.silver.tables import silver_tables
            from songnodes_assets.lib.lakehouse import Lakehouse
            from songnodes_assets.lib.schemas import SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS, SILVER_TRANSITIONS
            from songnodes_assets.settings import Settings

            resources = resources_from_settings(Settings.from_env())
            with dg.DagsterInstance.ephemeral() as instance:
                for asset, label in ((legacy_import, "bronze/legacy_import"), (silver_tables, "silver (4 tables)")):
                    t0 = time.perf_counter()
                    res = dg.materialize([asset], instance=instance, partition_key=DAY, resources=resources)
                    assert res.success
                    took = time.perf_counter() - t0
                    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
                    print(f"{label}: {took:.1f} s, {n / took:,.0f} old rows/s, peak RSS so far {peak:.2f} GB")
            lake = Lakehouse(Path(tmp) / "lake")
            for spec in (SILVER_PLAYLISTS, SILVER_PLAYLIST_TRACKS, SILVER_TRACKS, SILVER_TRANSITIONS):
                print(f"  {spec.qualified}: {len(lake.read(spec, DAY, columns=[spec.column_names[0]])):,} rows")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024:.2f} GB")
    finally:
        admin.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
