"""Import of the old SongNodes raw_scrape_data table from a real PostgreSQL table created here."""

import datetime as dt
import json
import uuid

import dagster as dg
import pytest

from songnodes_assets.defs.bronze.legacy_import import legacy_import
from songnodes_assets.defs.resources import resources_from_settings
from songnodes_assets.defs.silver.tables import silver_tables
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.parsing.tracklist import parse_tracklist
from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS, SILVER_TRANSITIONS
from songnodes_assets.settings import Settings

from .pg import PG, temporary_database

EVIL = "Robert'); DROP TABLE raw_scrape_data;--"


@pytest.fixture
def old_db():
    with temporary_database("songnodes_legacy") as name:
        yield from _fill(name)


def _fill(name):
    import psycopg2

    con = psycopg2.connect(dbname=name, **PG)
    with con, con.cursor() as cur:
        cur.execute("""CREATE TABLE raw_scrape_data (scrape_id uuid PRIMARY KEY, source text, scrape_type text,
                       raw_data jsonb, scraped_at timestamptz, processed boolean DEFAULT false)""")
        day = dt.datetime(2024, 5, 1, 10, tzinfo=dt.timezone.utc)
        rows = [
            ("playlist", {"playlist_id": "pl-1", "name": "Old Mix", "artist_name": "Ben Klock",
                          "event_date": "2019-03-01", "venue": "Berghain"}),
            ("enhancedsetlisttrack", {"setlist_id": "pl-1", "setlist_name": "Old Mix", "position": 1,
                                      "artist_name": "Trevino", "track_name": "Sombre Tones"}),
            ("enhancedsetlisttrack", {"setlist_id": "pl-1", "setlist_name": "Old Mix", "position": 2,
                                      "artist_name": "Emmanuel Top", "track_name": "Revision 02"}),
            ("enhancedsetlisttrack", {"setlist_id": "pl-1", "setlist_name": "Old Mix", "position": 3,
                                      "artist_name": EVIL, "track_name": "Bobby \"Tables\" `rm -rf /`"}),
            ("enhancedtrack", {"artist_name": "Bicep", "track_name": "Apricots",
                               "metadata": {"original_string": "Bicep - Apricots (Extended Mix)"}}),
            ("enhancedtrackadjacency", {"track_1_name": "Sombre Tones", "track_2_name": "Revision 02"}),
            ("enhancedartist", {"artist_name": "Trevino"}),
        ]
        for i, (stype, raw) in enumerate(rows):
            cur.execute("INSERT INTO raw_scrape_data VALUES (%s, %s, %s, %s, %s)",
                        (str(uuid.uuid4()), "mixesdb", stype, json.dumps(raw), day + dt.timedelta(minutes=i)))
        cur.execute("INSERT INTO raw_scrape_data VALUES (%s, 'mixesdb', 'enhancedtrack', %s, %s)",
                    (str(uuid.uuid4()), json.dumps({"artist_name": "Next", "track_name": "Day"}),
                     day + dt.timedelta(days=1)))
    con.close()
    dsn = " ".join(f"{k}={v}" for k, v in {**PG, "dbname": name}.items() if v != "") + (" password=''" if not PG["password"] else "")
    yield dsn, name


def test_import_then_silver(old_db, tmp_path, monkeypatch):
    import psycopg2

    dsn, name = old_db
    monkeypatch.setenv("SONGNODES_LEGACY_PG_DSN", dsn)
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    resources = resources_from_settings(Settings.from_env())
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):  # re-importing a day is idempotent
            res = dg.materialize([legacy_import, silver_tables], instance=instance, partition_key="2024-05-01",
                                 resources=resources, raise_on_error=False)
            assert res.success
    lake = Lakehouse(tmp_path / "lake")
    bronze = lake.read(BRONZE_RAW, "2024-05-01")
    assert len(bronze) == 7 and set(bronze["record_kind"]) == {"legacy_item"}  # the 05-02 row is not in this day
    assert set(bronze["source"]) == {"legacy:mixesdb"}
    pl = lake.read(SILVER_PLAYLISTS, "2024-05-01")
    assert len(pl) == 1
    p = pl.iloc[0]
    assert (p["page_title"], list(p["djs"]), p["mix_date"], p["venue"], p["n_entries"]) == \
        ("Old Mix", ["Ben Klock"], "2019-03-01", "Berghain", 3)
    pt = lake.read(SILVER_PLAYLIST_TRACKS, "2024-05-01")
    new_style = parse_tracklist(["# [000] Trevino - Sombre Tones [Klockworks - KW 20]"])[0]
    assert pt.loc[pt["position"] == 1, "track_id"].iloc[0] == new_style.track_id  # same id as MixesDB data
    assert pt.loc[pt["position"] == 3, "artists"].iloc[0].tolist() == [EVIL]  # stored literally
    tracks = lake.read(SILVER_TRACKS, "2024-05-01")
    apricots = parse_tracklist(["Bicep - Apricots [Ninja Tune]"])[0].track_id
    assert apricots in set(tracks["track_id"])  # a standalone enhancedtrack reaches silver.tracks
    assert len(lake.read(SILVER_TRANSITIONS, "2024-05-01")) == 2  # recomputed, old adjacency rows ignored
    with psycopg2.connect(dbname=name, **PG) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM raw_scrape_data")  # the hostile name was never executed
        assert cur.fetchone()[0] == 8


def test_import_not_configured_is_a_clear_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    with dg.DagsterInstance.ephemeral() as instance:
        res = dg.materialize([legacy_import], instance=instance, partition_key="2024-05-01",
                             resources=resources_from_settings(Settings.from_env()))
    md = res.get_asset_materialization_events()[0].materialization.metadata
    assert md["state"].value == "not configured"
    assert Lakehouse(tmp_path / "lake").files(BRONZE_RAW) == []
