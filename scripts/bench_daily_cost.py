"""Benchmark (not a test): does a day's cost grow with history? For N generated days (silver.tracks with a
Zipf-like mix of new and repeated tracks, bronze fetch files of a realistic size), it times, on day 1 and on
day N, the per-day lookups that used to read all history:

* ``tracks_first_seen`` (called by each of the six enrichment sources and gold for the day): with the track index
  (the first call of the day syncs the new partition; the other six find it synced), and the old full read;
* bronze's ``last_successful_fetches`` with its window (files written in 2 x 30 + 2 days) and without.

Each day's files get an mtime of that day, as if written then.

    .venv/bin/python scripts/bench_daily_cost.py --days 30
    .venv/bin/python scripts/bench_daily_cost.py --days 365
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CALLS_PER_DAY = 7  # six enrichment sources + gold


class History:
    """Generates day after day (silver.tracks + one bronze fetch file per day), files dated that day."""

    def __init__(self, root: Path, days: int, tracks_per_day: int, pages_per_day: int, seed: int = 3):
        import numpy as np

        from songnodes_assets.lib.lakehouse import Lakehouse

        self.rng = np.random.default_rng(seed)
        self.lake = Lakehouse(root)
        self.start = dt.date(2025, 1, 1)
        self.tracks_per_day, self.pages_per_day = tracks_per_day, pages_per_day
        pool = days * tracks_per_day // 2  # about half of a day's tracks were seen before
        self.weights = 1.0 / np.arange(1, pool + 1) ** 1.1
        self.weights /= self.weights.sum()
        self.pool = pool

    def day(self, d: int) -> str:
        from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_TRACKS

        day = (self.start + dt.timedelta(days=d)).isoformat()
        when = dt.datetime.combine(self.start + dt.timedelta(days=d), dt.time(12), dt.timezone.utc)
        ids = sorted({f"t{i:08d}" for i in self.rng.choice(self.pool, size=self.tracks_per_day, p=self.weights)})
        tracks = SILVER_TRACKS.conform([{
            "track_id": t, "artists": ["Artist"], "featured": [], "title": t, "remixers": [], "version": None,
            "label": None, "catalog_number": None, "is_mashup": False, "first_seen_at": when,
            "first_seen_playlist_id": "p", "n_occurrences": 1, "scrape_date": day, "parser_version": "bench"}
            for t in ids])
        paths = [self.lake.write(SILVER_TRACKS, tracks, day)]
        body = b"x" * 20_000
        rows = [{"scrape_date": day, "source": "mixesdb", "record_kind": "page", "url": f"https://m/w/Mix_{d}_{i}",
                 "final_url": None, "page_title": f"Mix {d} {i}", "status": 200, "content_type": "text/x-wiki",
                 "headers_json": "{}", "fetched_at": when, "sha256": f"{d}-{i}", "body": body,
                 "body_bytes": len(body), "error_kind": None, "error": None, "attempts": 1, "elapsed_ms": 1,
                 "fetcher_version": "bench", "run_id": f"r{d}"} for i in range(self.pages_per_day)]
        paths.append(self.lake.write(BRONZE_RAW, BRONZE_RAW.conform(rows), day, file_name=f"run-r{d}.parquet"))
        for p in paths:
            os.utime(p, (when.timestamp(), when.timestamp()))
        return day


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return round(time.perf_counter() - t0, 4)


def measure(root: Path, day: str, now: dt.datetime) -> dict:
    import pandas as pd

    from songnodes_assets.lib.bronze import last_successful_fetches
    from songnodes_assets.lib.enrich.selection import tracks_first_seen
    from songnodes_assets.lib.lakehouse import Lakehouse
    from songnodes_assets.lib.schemas import SILVER_TRACKS

    lake = Lakehouse(root)

    def full_read():
        earlier = [p for p in lake.partitions(SILVER_TRACKS) if p < day]
        if earlier:
            pd.concat([lake.read(SILVER_TRACKS, p, columns=["track_id"]) for p in earlier])

    first = timed(lambda: tracks_first_seen(lake, day))  # syncs the day's partition into the index
    warm = [timed(lambda: tracks_first_seen(lake, day)) for _ in range(CALLS_PER_DAY - 1)]
    return {
        "tracks_first_seen_first_call_s": first, "tracks_first_seen_other_calls_s": round(sum(warm) / len(warm), 4),
        "tracks_first_seen_day_total_s": round(first + sum(warm), 4),
        "old_full_read_per_call_s": timed(full_read),
        "bronze_lookup_windowed_s": timed(lambda: last_successful_fetches(lake, dt.timedelta(days=62), now)),
        "bronze_lookup_all_history_s": timed(lambda: last_successful_fetches(lake)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--tracks-per-day", type=int, default=3000)
    ap.add_argument("--pages-per-day", type=int, default=50)
    args = ap.parse_args()
    from songnodes_assets.lib.enrich.selection import tracks_first_seen

    with tempfile.TemporaryDirectory(prefix="bench-daily-") as tmp:
        root = Path(tmp)
        history = History(root, args.days, args.tracks_per_day, args.pages_per_day)
        t0 = time.perf_counter()
        for d in range(args.days):  # day after day, as the daily runs go
            day = history.day(d)
            if d in (0, args.days - 1):
                now = dt.datetime.fromisoformat(day).replace(hour=13, tzinfo=dt.timezone.utc)
                print(json.dumps({"day": d + 1, **measure(root, day, now)}), flush=True)
            else:
                tracks_first_seen(history.lake, day)  # that day's enrichment syncs its partition into the index
        print(json.dumps({"days": args.days, "total_seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
