"""Import of the old SongNodes raw_scrape_data table from a real PostgreSQL table created here, with rows in
the shapes the old scrapers wrote (json.dumps of Scrapy items: title-only setlist tracks linked by mix name,
raw lines inside a JSON-string ``metadata``, naive local ``scraped_at``)."""

import datetime as dt
import json

import dagster as dg
import pytest

from songnodes_assets.defs.bronze.legacy_import import legacy_import
from songnodes_assets.defs.resources import resources_from_settings
from songnodes_assets.defs.silver.tables import KEYS as SILVER_KEYS
from songnodes_assets.defs.silver.tables import silver_tables
from songnodes_assets.lib.ids import playlist_id
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.legacy import GAP_LINE, map_items
from songnodes_assets.lib.parsing.tracklist import parse_tracklist
from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS, SILVER_TRANSITIONS
from songnodes_assets.settings import Settings

from .pg import PG, temporary_database

EVIL = "Robert'); DROP TABLE raw_scrape_data;--"
MIX = "2024-03-01 - Ben Klock - Klubnacht, Berghain"
DAY = "2024-05-01"
BERLIN_NOON = dt.datetime(2024, 5, 1, 12, 0)  # naive, as the old scrapers wrote datetime.now() (Europe/Berlin)


def track_item(line: str, position: int | None, mix: str | None = MIX, **extra) -> dict:
    title = line.split(" - ", 1)[-1]
    meta = {"original_string": line, "extraction_source": "mixesdb", "mix_context": mix, "is_identified": True}
    return {"track_name": title, "normalized_title": title.lower(), "is_remix": False, "source_context": line,
            "position_in_source": position, "track_type": "Mix", "metadata": json.dumps(meta),
            "external_urls": json.dumps({"mixesdb_context": "https://www.mixesdb.com/w/x"}), "data_source": "mixesdb",
            **extra}


ROWS = [  # (scrape_type, raw_data, scraped_at naive Berlin time, how it is stored)
    ("enhancedsetlist", {"setlist_name": MIX, "dj_artist_name": "Ben Klock", "set_date": "2024-03-01",
                         "venue_name": "Berghain", "event_name": "Klubnacht", "genre_tags": ["Techno"],
                         "metadata": json.dumps({"source": "mixesdb"}), "total_tracks": 7}, BERLIN_NOON, "jsonb"),
    ("playlist", {"item_type": "playlist", "name": MIX, "dj_name": "Ben Klock", "event_date": "2024-03-01",
                  "tracks": ["Sombre Tones", "Revision 02"], "total_tracks": 7}, BERLIN_NOON, "jsonb"),
    ("enhancedtrack", track_item("Trevino - Sombre Tones", 1), BERLIN_NOON, "jsonb"),
    ("enhancedtrack", track_item("Trevino - Sombre Tones", 1), BERLIN_NOON + dt.timedelta(hours=2), "jsonb"),  # re-scrape
    ("enhancedtrack", track_item("Emmanuel Top - Revision 02", 2), BERLIN_NOON, "double"),  # JSON inside a JSON string
    ("enhancedsetlisttrack", {"setlist_name": MIX, "track_name": "Mystery Tool", "track_order": 3}, BERLIN_NOON, "jsonb"),
    ("enhancedsetlisttrack", {"setlist_name": MIX, "track_name": "Sombre Tones", "track_order": 1}, BERLIN_NOON, "jsonb"),
    ("enhancedtrack", track_item("Surgeon - Floorshow", 4), BERLIN_NOON, "jsonb"),
    ("enhancedtrack", track_item(f'{EVIL} - Bobby "Tables" `rm -rf /`', 5), BERLIN_NOON, "jsonb"),
    ("enhancedtrack", track_item("Blawan - Why They Hide Their Bodies Under My Garage?", 7), BERLIN_NOON, "jsonb"),
    ("enhancedtrack", track_item("Bicep - Apricots (Extended Mix)", None, mix=None), BERLIN_NOON, "jsonb"),
    ("enhancedtrackartist", {"track_name": "Revision 02", "artist_name": "Emmanuel Top", "artist_role": "featured",
                             "position": 1}, BERLIN_NOON, "jsonb"),
    ("enhancedtrackadjacency", {"track_1_name": "Sombre Tones", "track_2_name": "Floorshow", "distance": 3},
     BERLIN_NOON, "jsonb"),
    ("enhancedtrack", "not json at all", BERLIN_NOON, "text"),
    # 2024-05-02 01:30 in Berlin is still 2024-05-01 in UTC; 2024-05-01 01:30 in Berlin is 2024-04-30 in UTC
    ("enhancedtrack", track_item("Late - Night", None, mix=None), dt.datetime(2024, 5, 2, 1, 30), "jsonb"),
    ("enhancedtrack", track_item("Early - Morning", None, mix=None), dt.datetime(2024, 5, 1, 1, 30), "jsonb"),
]


@pytest.fixture
def old_db():
    import psycopg2

    with temporary_database("songnodes_legacy") as name:
        con = psycopg2.connect(dbname=name, **PG)
        with con, con.cursor() as cur:  # the old system's DDL
            cur.execute("""CREATE TABLE raw_scrape_data (
                scrape_id UUID DEFAULT gen_random_uuid() PRIMARY KEY, source VARCHAR(100), scrape_type VARCHAR(50),
                source_url TEXT, raw_data JSONB, processed BOOLEAN DEFAULT FALSE, error_message TEXT,
                scraped_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, processed_at TIMESTAMP)""")
            for stype, raw, at, stored in ROWS:
                value = {"jsonb": json.dumps(raw), "double": json.dumps(json.dumps(raw)), "text": json.dumps(raw)}[stored]
                cur.execute("INSERT INTO raw_scrape_data (source, scrape_type, source_url, raw_data, scraped_at) "
                            "VALUES (%s, %s, %s, %s, %s)", ("mixesdb", stype, "", value, at))
        con.close()
        dsn = " ".join(f"{k}={v}" for k, v in {**PG, "dbname": name}.items() if v != "")
        yield dsn + ("" if PG["password"] else " password=''"), name


def test_import_then_silver(old_db, tmp_path, monkeypatch):
    import psycopg2

    dsn, name = old_db
    monkeypatch.setenv("SONGNODES_LEGACY_PG_DSN", dsn)
    monkeypatch.setenv("SONGNODES_LEGACY_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    resources = resources_from_settings(Settings.from_env())
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):  # re-importing a day is idempotent
            res = dg.materialize([legacy_import, silver_tables], instance=instance, partition_key=DAY,
                                 resources=resources, raise_on_error=False)
            assert res.success
    lake = Lakehouse(tmp_path / "lake")
    bronze = lake.read(BRONZE_RAW, DAY)
    assert len(bronze) == len(ROWS) - 1 and set(bronze["record_kind"]) == {"legacy_item"}  # 04-30 UTC row is not here
    assert bronze["fetched_at"].min() == dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc)  # noon Berlin (CEST)
    assert bronze["fetched_at"].max() == dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.timezone.utc)
    assert set(bronze["source"]) == {"legacy:mixesdb"}

    pl = lake.read(SILVER_PLAYLISTS, DAY)
    assert len(pl) == 1
    p = pl.iloc[0]
    assert p["playlist_id"] == playlist_id("mixesdb", MIX)  # the id a fetch of the MixesDB page gets
    assert (p["page_title"], list(p["djs"]), p["mix_date"], p["venue"], list(p["genres"])) == \
        (MIX, ["Ben Klock"], "2024-03-01", "Berghain", ["Techno"])
    # positions 1..7: 1, 2, 4, 5, 7 have raw lines; 3 is a title without artist; 6 is missing (a gap)
    assert (p["n_entries"], p["n_identified"], p["n_placeholders"], p["n_gaps"]) == (7, 5, 1, 1)
    pt = lake.read(SILVER_PLAYLIST_TRACKS, DAY).sort_values("position")
    new_style = parse_tracklist(["# [000] Trevino - Sombre Tones [Klockworks - KW 20]"])[0]
    assert pt.iloc[0]["track_id"] == new_style.track_id  # the same id as fetched MixesDB data
    assert [EVIL] in [list(a) for a in pt["artists"]]  # stored literally
    edges = lake.read(SILVER_TRANSITIONS, DAY)
    pairs = {(a, b) for a, b in zip(edges["from_position"], edges["to_position"])}
    assert pairs == {(1, 2), (4, 5)}  # nothing across the placeholder, the gap or a re-scraped duplicate
    tracks = lake.read(SILVER_TRACKS, DAY)
    assert parse_tracklist(["Bicep - Apricots [Ninja Tune]"])[0].track_id in set(tracks["track_id"])
    assert parse_tracklist(["Late - Night"])[0].track_id in set(tracks["track_id"])

    md = res.asset_materializations_for_node("silver_tables")
    counts = next(m.metadata["legacy_items"].value for m in md if m.asset_key == SILVER_KEYS["playlists"])
    assert counts["enhancedtrack"] == {"used": 8, "skipped: not a JSON object": 1}  # the 04-30 row is not in this day
    assert counts["enhancedtrackartist"] == {"skipped: credit without mix or position: artists come from the track lines": 1}
    assert set(counts["enhancedtrackadjacency"]) == {"skipped: old edges not trusted: transitions are recomputed from positions"}
    with psycopg2.connect(dbname=name, **PG) as con, con.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE processed) FROM raw_scrape_data")
        assert cur.fetchone() == (len(ROWS), 0)  # the hostile name was never executed; the old table is untouched


def test_a_bad_time_zone_is_a_clear_error(old_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SONGNODES_LEGACY_PG_DSN", old_db[0])
    monkeypatch.setenv("SONGNODES_LEGACY_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    with dg.DagsterInstance.ephemeral() as instance:
        res = dg.materialize([legacy_import], instance=instance, partition_key=DAY, raise_on_error=False,
                             resources=resources_from_settings(Settings.from_env()))
    assert not res.success
    failure = res.get_step_failure_events()[0].step_failure_data.error
    assert "SONGNODES_LEGACY_TIMEZONE" in str(failure.message) + str(failure.cause)
    assert Lakehouse(tmp_path / "lake").files(BRONZE_RAW) == []


def test_mapping_keeps_the_best_line_per_position():
    at = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    later = at + dt.timedelta(hours=1)
    items = [
        ("enhancedsetlisttrack", {"setlist_name": "M", "track_name": "Two", "track_order": 2}, later, "legacy:x"),
        ("enhancedtrack", track_item("A - Two", 2, mix="M"), at, "legacy:x"),        # raw line beats a later title
        ("enhancedtrack", track_item("A - One", 1, mix="M"), at, "legacy:x"),
        ("enhancedtrack", track_item("A - One (Edit)", 1, mix="M"), later, "legacy:x"),  # newer raw line wins
        ("enhancedsetlisttrack", {"setlist_id": 7, "track_name": "Seven", "artist_name": "B", "position": "1"}, at, "legacy:x"),
        ("playlist", {"name": "P", "tracks": [{"artist": "C", "title": "Three", "position": None}, "D - Four", 5,
                                              "Bare Title"]}, at, "legacy:x"),
        ("enhancedsetlisttrack", {"setlist_name": "P", "track_name": "Four", "track_order": "2.0"}, later, "legacy:x"),
        ("enhancedsetlisttrack", {"track_name": "Orphan"}, at, "legacy:x"),
        ("mysterytype", {"a": 1}, at, "legacy:x"),
        ("enhancedsetlisttrack", {"setlist_name": "M", "artist_name": "Z", "track_name": "Elsewhere", "track_order": 1},
         at, "legacy:other-site"),  # another source's mix of the same name stays apart
        ("enhancedsetlisttrack", {"setlist_name": "U", "artist_name": "G", "track_name": "Other"}, later, "legacy:x"),
        ("enhancedsetlisttrack", {"setlist_name": "U", "artist_name": "F", "track_name": "Loose"}, later, "legacy:x"),
        ("enhancedsetlisttrack", {"setlist_name": "U", "artist_name": "F", "track_name": "Loose"}, at, "legacy:x"),
    ]
    day = map_items(items)
    assert day.mixes[("legacy:x", "M")].tracklist() == ["A - One (Edit)", "A - Two"]
    assert day.mixes[("legacy:other-site", "M")].tracklist() == ["Z - Elsewhere"]
    assert day.mixes[("legacy:x", "7")].tracklist() == ["B - Seven"]  # an integer id is a key, not dropped
    # a full line in playlist.tracks beats a later title-only item; a bare title is an unidentified entry
    assert day.mixes[("legacy:x", "P")].tracklist() == ["C - Three", "D - Four", GAP_LINE, "? - Bare Title"]  # 3rd: not a track
    # lines without a position: once each (first seen first), a gap between them (their order is unknown)
    assert day.mixes[("legacy:x", "U")].tracklist() == ["F - Loose", GAP_LINE, "G - Other"]
    assert day.counts["enhancedsetlisttrack"] == {"used": 7, "skipped: no mix name or no track": 1}
    assert day.counts["mysterytype"] == {"skipped: scrape type not mapped": 1}
    gaps = map_items([("enhancedtrack", track_item("A - One", 1, mix="G"), at, "s"),
                      ("enhancedtrack", track_item("A - Four", 4, mix="G"), at, "s")])
    assert gaps.mixes[("s", "G")].tracklist() == ["A - One", GAP_LINE, "A - Four"]


def test_import_not_configured_is_a_clear_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    with dg.DagsterInstance.ephemeral() as instance:
        res = dg.materialize([legacy_import], instance=instance, partition_key=DAY,
                             resources=resources_from_settings(Settings.from_env()))
    md = res.get_asset_materialization_events()[0].materialization.metadata
    assert md["state"].value == "not configured"
    assert Lakehouse(tmp_path / "lake").files(BRONZE_RAW) == []


def test_a_mix_fetched_as_a_page_the_same_day_is_not_doubled():
    import pandas as pd

    from songnodes_assets.lib.legacy import to_bronze_rows
    from songnodes_assets.lib.silver_build import build_silver

    from .helpers import bronze_frame, wiki_page

    at = dt.datetime(2024, 5, 1, 9, tzinfo=dt.timezone.utc)
    lines = ["Trevino - Sombre Tones", "Emmanuel Top - Revision 02", "Surgeon - Floorshow"]
    page = bronze_frame({MIX: wiki_page([f"# {x}" for x in lines])})
    old = [{"scrape_id": f"id{i}", "source": "mixesdb", "scrape_type": "enhancedtrack", "source_url": None,
            "raw_data": track_item(x, i + 1), "scraped_at": at} for i, x in enumerate(lines)]
    old.append({"scrape_id": "u1", "source": "mixesdb", "scrape_type": "enhancedsetlist", "source_url": None,
                "raw_data": {"setlist_name": "Ben Klock @ Berghain, Berlin", "dj_artist_name": "Ben Klock @ Berghain, Berlin"},
                "scraped_at": at})
    old.append({"scrape_id": "u2", "source": "mixesdb", "scrape_type": "enhancedsetlisttrack", "source_url": None,
                "raw_data": {"setlist_name": "Ben Klock @ Berghain, Berlin", "track_name": "X", "track_order": 1},
                "scraped_at": at})
    bronze = pd.concat([page, BRONZE_RAW.conform(to_bronze_rows(old, DAY, "r"))], ignore_index=True)
    silver = build_silver(bronze, DAY)
    fetched = silver.playlists[silver.playlists["source"] == "mixesdb"]
    assert len(fetched) == 1 and (silver.playlists["playlist_id"] == fetched.iloc[0]["playlist_id"]).sum() == 1
    edges = silver.transitions
    assert len(edges) == 2 and not (edges["from_track_id"] == edges["to_track_id"]).any()  # no self-loops
    assert silver.legacy_counts["mix"] == {"skipped: page fetched the same day": 1}
    other = silver.playlists[silver.playlists["page_title"] == "Ben Klock @ Berghain, Berlin"].iloc[0]
    assert list(other["djs"]) == ["Ben Klock"]  # a DJ field holding the whole title is not a DJ: the title parse is used


@pytest.mark.parametrize("dsn, expected", [
    ("host=127.0.0.1 port=9 user=x dbname=y connect_timeout=2 password=PLANTED-pg-7d1e", "cannot connect"),
    ("postgresql://reader:PLANTED-pg-7d1e@127.0.0.1:9/musicdb?connect_timeout=2", "cannot connect"),
    ("host=127.0.0.1 password=PLANTED-pg-7d1e SECRETTAIL", "not a libpq connection string"),  # libpq quotes the tail
])
def test_a_bad_connection_is_clear_and_never_shows_the_password(tmp_path, monkeypatch, dsn, expected):
    monkeypatch.setenv("SONGNODES_LEGACY_PG_DSN", dsn)
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with dg.DagsterInstance.get() as instance:
        res = dg.materialize([legacy_import], instance=instance, partition_key=DAY, raise_on_error=False,
                             resources=resources_from_settings(Settings.from_env()))
        logs = "\n".join(repr(e) for e in instance.all_logs(res.run_id))
    assert not res.success
    assert expected in logs
    haystack = logs.encode() + b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"PLANTED-pg" not in haystack and b"SECRETTAIL" not in haystack
