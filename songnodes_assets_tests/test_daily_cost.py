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


# ---- tracks first seen: the track index --------------------------------------------------------------------

import random  # noqa: E402

import pandas as pd  # noqa: E402

from songnodes_assets.lib.enrich.selection import tracks_first_seen  # noqa: E402
from songnodes_assets.lib.schemas import SILVER_TRACKS  # noqa: E402
from songnodes_assets.lib.track_index import TrackIndex, index_path  # noqa: E402


def _tracks(ids, partition):
    return SILVER_TRACKS.conform([{
        "track_id": t, "artists": ["A"], "featured": [], "title": t, "remixers": [], "version": None, "label": None,
        "catalog_number": None, "is_mashup": False, "first_seen_at": NOW, "first_seen_playlist_id": "p",
        "n_occurrences": 1, "scrape_date": partition, "parser_version": "test"} for t in ids])


def _full_read_answer(lake, partition):
    """The definition: the day's ids that no earlier partition holds (what every call used to compute)."""
    earlier = [p for p in lake.partitions(SILVER_TRACKS) if p < partition]
    seen = set(pd.concat([lake.read(SILVER_TRACKS, p) for p in earlier])["track_id"]) if earlier else set()
    return sorted(set(lake.read(SILVER_TRACKS, partition)["track_id"]) - seen)


def test_index_answers_like_a_full_read_in_any_order_after_reparses_and_deletions(tmp_path):
    rnd = random.Random(5)
    lake = Lakehouse(tmp_path)
    days = [f"2024-05-{d:02d}" for d in range(1, 21)]
    pool = [f"t{i:04d}" for i in range(400)]
    for day in rnd.sample(days, len(days)):  # built out of order, as backfills do
        lake.write(SILVER_TRACKS, _tracks(rnd.sample(pool, 60), day), day)
        probe = rnd.choice(days)
        if lake.files(SILVER_TRACKS, probe):
            assert list(tracks_first_seen(lake, probe)["track_id"]) == _full_read_answer(lake, probe)
    lake.write(SILVER_TRACKS, _tracks(rnd.sample(pool, 10), days[3]), days[3])  # a re-parse drops most tracks
    for f in lake.files(SILVER_TRACKS, days[7]):  # a partition removed
        f.unlink()
    for day in days:
        if lake.files(SILVER_TRACKS, day):
            assert list(tracks_first_seen(lake, day)["track_id"]) == _full_read_answer(lake, day), day


def test_a_warm_index_reads_nothing_but_the_day(tmp_path):
    lake = Lakehouse(tmp_path)
    for d in range(1, 31):
        lake.write(SILVER_TRACKS, _tracks([f"t{d}", f"t{d + 1}"], f"2024-05-{d:02d}"), f"2024-05-{d:02d}")
    index = TrackIndex(lake)
    assert len(index.sync()) == 30  # first use: every partition indexed once
    lake.write(SILVER_TRACKS, _tracks(["t31", "t99"], "2024-05-31"), "2024-05-31")
    assert index.sync() == ["2024-05-31"]  # a new day: only it is read
    assert index.seen_before(["t31", "t99"], "2024-05-31") == {"t31"}
    assert index.sync() == []


def test_a_corrupt_index_is_rebuilt(tmp_path):
    lake = Lakehouse(tmp_path)
    lake.write(SILVER_TRACKS, _tracks(["a", "b"], "2024-05-01"), "2024-05-01")
    lake.write(SILVER_TRACKS, _tracks(["b", "c"], "2024-05-02"), "2024-05-02")
    assert list(tracks_first_seen(lake, "2024-05-02")["track_id"]) == ["c"]
    index_path(lake).write_bytes(b"garbage" * 100)
    for suffix in ("-wal", "-shm"):
        index_path(lake).with_name(index_path(lake).name + suffix).unlink(missing_ok=True)
    warnings = []
    assert list(tracks_first_seen(lake, "2024-05-02", log=warnings.append)["track_id"]) == ["c"]
    assert any("corrupt" in w for w in warnings) and list(index_path(lake).parent.glob("*.corrupt-*"))
