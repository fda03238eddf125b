"""Benchmark (not a test): one tick of each alert sensor with N materialisation events in the instance.

    python scripts/bench_sensors.py --events 10000

Creates a persistent SQLite instance in a temp folder, reports N real materialisation events spread
over the assets the sensors read (bronze, silver, the six enrichment sources), then times one
evaluation of every alert sensor and of the retry sensor (goal: < 1 s per tick).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home")
        os.environ["SONGNODES_LAKEHOUSE_ROOT"] = str(Path(tmp) / "lake")
        os.environ["SONGNODES_CACHE_DIR"] = str(Path(tmp) / "cache")
        Path(os.environ["DAGSTER_HOME"]).mkdir()
        import dagster as dg

        from songnodes_assets.defs.automation.alert_sensors import alert_sensors
        from songnodes_assets.defs.automation.retry import retry_failed_enrichments
        from songnodes_assets.lib.enrich.sources import SOURCES

        keys = [dg.AssetKey(["bronze", "raw_scrape_data"]), dg.AssetKey(["silver", "playlists"]),
                dg.AssetKey(["silver", "playlist_tracks"]), dg.AssetKey(["silver", "tracks"])]
        keys += [dg.AssetKey(["enrichment", s]) for s in SOURCES]
        metadata = {"pages_ok": 40, "row_count": 300, "playlists_with_zero_entries": 1, "entries_per_playlist": 30.0,
                    "parser_version": "bench", "artist_coverage_pct": 91.0, "duplicate_rate": 0.05,
                    "api_calls": 100, "cache_hits": 80}
        instance = dg.DagsterInstance.get()
        t0 = time.perf_counter()
        for i in range(args.events):
            day = f"2024-{1 + (i // 28) % 12:02d}-{1 + i % 28:02d}"
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=keys[i % len(keys)], partition=day, metadata=metadata))
        print(f"stored {args.events} materialisation events in {time.perf_counter() - t0:.1f}s")
        for sensor in [*alert_sensors, retry_failed_enrichments]:
            cursor = None
            times = []
            for _ in range(3):
                ctx = dg.build_sensor_context(instance=instance, cursor=cursor)
                t1 = time.perf_counter()
                sensor(ctx)
                times.append(time.perf_counter() - t1)
                cursor = ctx.cursor
            print(f"{sensor.name:<30} first tick {times[0] * 1000:7.1f} ms   next ticks "
                  f"{min(times[1:]) * 1000:7.1f}-{max(times[1:]) * 1000:7.1f} ms")
        instance.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
