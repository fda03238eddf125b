"""Benchmark (not a test): does a day's cost on Iceberg tables grow with history?

    .venv/bin/python scripts/bench_iceberg_days.py --days 200

Writes N daily silver.tracks partitions (3 generated pages of 20 lines each, one commit per day) into an Iceberg
table with the default SQLite catalog and a local warehouse, and reports at some days: the write (validated
staging + commit), a read of that day's rows, ``files(day)`` (the file plan the views and the existence checks
use) and the number of manifests the current snapshot holds (merged by ``commit.manifest-merge.enabled``).
The bench writes its N days within minutes, so snapshot expiry by age (SONGNODES_ICEBERG_KEEP_DAYS, default 30)
never triggers here; ``--keep-snapshots K`` (default 60: 30 days of one overwrite a day, two snapshots each)
emulates the steady state of that expiry by expiring all but the newest K snapshots before each day's write.
``--keep-snapshots 0`` keeps every snapshot (what a deployment with SONGNODES_ICEBERG_KEEP_DAYS=0 gets).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--keep-snapshots", type=int, default=60)
    args = ap.parse_args()

    from songnodes_assets.lib import iceberg_tables as it
    from songnodes_assets.lib.iceberg_lakehouse import IcebergLakehouse
    from songnodes_assets.lib.schemas import SILVER_TRACKS
    from songnodes_assets.lib.silver_build import build_silver
    from songnodes_assets_tests.helpers import bronze_frame, wiki_page

    report = {1, 10, 50, 100, 200, 365, args.days}
    with tempfile.TemporaryDirectory(prefix="songnodes-bench-iceberg-") as tmp:
        root = Path(tmp) / "lakehouse"
        lake = IcebergLakehouse(root, it.IcebergConfig.from_env(root))
        first = dt.date(2024, 1, 1)
        print(f"keeping {args.keep_snapshots or 'all'} snapshots")
        print(f"{'day':>5} {'write ms':>9} {'read day ms':>12} {'files(day) ms':>14} {'manifests':>10}")
        for i in range(1, args.days + 1):
            day = (first + dt.timedelta(days=i - 1)).isoformat()
            pages = {f"2024-01-01 - DJ {k} {day} - Show": wiki_page([f"# Artist {k}{j} {day} - Title {j}"
                                                                      for j in range(20)]) for k in range(3)}
            tracks = build_silver(bronze_frame(pages, scrape_date=day), day).tracks
            table = lake._table(SILVER_TRACKS)
            if args.keep_snapshots and table is not None and len(table.metadata.snapshots) > args.keep_snapshots:
                old = [s.snapshot_id for s in table.metadata.snapshots[:-args.keep_snapshots]]
                table.maintenance.expire_snapshots().by_ids(old).commit()
            t0 = time.perf_counter()
            lake.write(SILVER_TRACKS, tracks, day)
            write_ms = (time.perf_counter() - t0) * 1000
            if i in report:
                t0 = time.perf_counter()
                rows = lake.read(SILVER_TRACKS, day)
                read_ms = (time.perf_counter() - t0) * 1000
                t0 = time.perf_counter()
                lake.files(SILVER_TRACKS, day)
                files_ms = (time.perf_counter() - t0) * 1000
                table = lake._table(SILVER_TRACKS)
                manifests = len(table.current_snapshot().manifests(table.io))
                assert len(rows) == len(tracks)
                print(f"{i:>5} {write_ms:>9.0f} {read_ms:>12.0f} {files_ms:>14.0f} {manifests:>10}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
