"""Daily cost independent of history: bronze's "already fetched" lookup reads only the files written within its
window (about two months), whatever the scrape dates they are filed under, and still finds every recent fetch."""

import datetime as dt
import os

from songnodes_assets.lib.bronze import last_successful_fetches
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import BRONZE_RAW

from .helpers import bronze_frame, wiki_page

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
WINDOW = dt.timedelta(days=62)


def _write(lake, title, scrape_date, written_days_ago):
    fetched = NOW - dt.timedelta(days=written_days_ago)
    path = lake.write(BRONZE_RAW, bronze_frame({title: wiki_page(["# A - B"])}, scrape_date, fetched_at=fetched),
                      scrape_date, file_name=f"run-{title}.parquet")
    os.utime(path, (fetched.timestamp(), fetched.timestamp()))  # the file was written right after its fetch
    return path


def test_lookup_reads_only_the_window_and_finds_backfilled_recent_fetches(tmp_path):
    lake = Lakehouse(tmp_path)
    for i in range(300):  # a year of history outside the window
        day = (NOW.date() - dt.timedelta(days=400 - i)).isoformat()
        _write(lake, f"Old {i}", day, 400 - i)
    _write(lake, "Recent", NOW.date().isoformat(), 1)
    _write(lake, "Backfilled", "2024-05-01", 2)  # an old scrape date, fetched two days ago by a backfill
    old = _write(lake, "Ancient", "2024-01-02", 500)
    old.write_bytes(b"not parquet")  # outside the window: never opened
    then = (NOW - dt.timedelta(days=500)).timestamp()
    os.utime(old, (then, then))

    found = last_successful_fetches(lake, within=WINDOW, now=NOW)
    urls = {u for u in found if u.startswith("http")}
    assert urls == {"http://127.0.0.1/w/Recent?action=raw", "http://127.0.0.1/w/Backfilled?action=raw"}
    assert found["http://127.0.0.1/w/Backfilled?action=raw"][0] == NOW - dt.timedelta(days=2)
