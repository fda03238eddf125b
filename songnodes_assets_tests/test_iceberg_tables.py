"""Iceberg tables: ``songnodes iceberg-import`` copies a local lakehouse into them (idempotently, row counts
compared) and ``songnodes sql --iceberg / --as-of`` reads their current or an older snapshot. Default: SQLite
catalog and a local warehouse; production path: the catalog in the local PostgreSQL and the warehouse on a real
S3 server (moto) on a loopback port. The real console script runs each command."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pytest

from songnodes_assets.lib import iceberg_tables as it
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import (BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_PROBLEMS,
                                          SILVER_TRACKS, SILVER_TRANSITIONS)
from songnodes_assets.lib.silver_build import build_silver

from .helpers import bronze_frame, wiki_page
from .pg import PG, temporary_database
from .s3 import AWS_ENV, moto_s3, object_keys

SONGNODES = str(Path(sys.executable).parent / "songnodes")
DAYS = ("2024-05-01", "2024-05-02")
TABLES = {"playlists": SILVER_PLAYLISTS, "playlist_tracks": SILVER_PLAYLIST_TRACKS, "tracks": SILVER_TRACKS,
          "transitions": SILVER_TRANSITIONS, "problems": SILVER_PROBLEMS}


def _day(lake: Lakehouse, day: str, n_lines: int) -> None:
    pages = {f"2024-01-0{i + 1} - DJ {i} {day} - Show": wiki_page([f"# Artist {i}{k} - Title {k}" for k in range(n_lines)])
             for i in range(3)}
    pages["Old Title"] = "#REDIRECT [[2024-01-01 - Some DJ - Show]]"
    bronze = bronze_frame(pages, scrape_date=day)
    lake.write(BRONZE_RAW, bronze, day, file_name="run-a.parquet")
    silver = build_silver(bronze, day)
    for name, spec in TABLES.items():
        lake.write(spec, getattr(silver, name), day)


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([SONGNODES, *args], capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    return out


VIEWS = {"playlists_by_partition": SILVER_PLAYLISTS, "playlist_tracks": SILVER_PLAYLIST_TRACKS,
         "transition_occurrences": SILVER_TRANSITIONS, "problems": SILVER_PROBLEMS}


def _counts(env: dict, *flags: str) -> dict[str, int]:
    """Row counts of the silver views, from one real `songnodes sql` run."""
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM silver.{v}) AS {v}" for v in VIEWS)
    out = _run(env, "sql", query, "--format", "json", *flags)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[0])


def _roundtrip(lake: Lakehouse, env: dict):
    """Import twice (the second commits nothing), read the views over Iceberg, rebuild a day locally, import
    again, and read the new and the old snapshot. Returns the catalog and the time before the rebuild."""
    first = _run(env, "iceberg-import")
    assert first.returncode == 0, first.stderr
    assert "silver.transitions: 2 partitions (2 written, 0 unchanged)" in first.stdout
    assert "row counts equal" in first.stdout and "COUNTS DIFFER" not in first.stdout
    local = {v: sum(len(lake.read(spec, d)) for d in DAYS) for v, spec in VIEWS.items()}
    assert all(local.values()) and local["playlist_tracks"] == 2 * 3 * 12
    # the same views, over the Iceberg tables, give the local files' rows
    assert _counts(env, "--iceberg") == _counts(env) == local
    again = _run(env, "iceberg-import")
    assert again.returncode == 0 and "0 partitions written" in again.stdout, again.stdout + again.stderr
    before = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)
    # a partition rebuilt locally (fewer lines) is one new snapshot; the old one stays readable
    _day(lake, DAYS[1], 5)
    third = _run(env, "iceberg-import")
    assert third.returncode == 0 and "silver.playlist_tracks: 2 partitions (1 written, 1 unchanged)" in third.stdout
    assert _counts(env, "--iceberg")["playlist_tracks"] == 3 * 12 + 3 * 5
    assert _counts(env, "--as-of", before.isoformat()) == local
    with mock.patch.dict(os.environ, env):  # the catalog the commands used
        catalog = it.open_catalog(it.IcebergConfig.from_env(lake.root))
    early = it.snapshot_sources(catalog, it.resolve_as_of(catalog, "2000-01-01T00:00:00Z"))
    assert early and all(t.num_rows == 0 for t in early.values())  # before any snapshot: every table empty
    return catalog


def test_import_and_time_travel_with_the_default_sqlite_catalog_and_local_warehouse(tmp_path):
    lake = Lakehouse(tmp_path / "lakehouse")
    for day in DAYS:
        _day(lake, day, 12)
    env = {"SONGNODES_LAKEHOUSE_ROOT": str(lake.root)}
    catalog = _roundtrip(lake, env)
    assert (tmp_path / "iceberg" / "catalog.db").is_file()
    assert list((tmp_path / "iceberg" / "warehouse").rglob("*.parquet"))
    # --as-of a snapshot id: that snapshot's commit time, for every table (only day 1 was in the first one)
    first = catalog.load_table(("silver", "playlist_tracks")).history()[0].snapshot_id
    rows = it.snapshot_sources(catalog, it.resolve_as_of(catalog, str(first)))
    assert rows["silver.playlist_tracks"].num_rows == 3 * 12
    assert set(rows["silver.playlist_tracks"].column("scrape_date").to_pylist()) == {DAYS[0]}


@pytest.fixture
def s3_server(monkeypatch):
    """moto's S3 server on a loopback port (real HTTP), with the standard AWS variables pointing at it."""
    with moto_s3() as endpoint:
        for key, value in AWS_ENV.items():
            monkeypatch.setenv(key, value)
        yield endpoint


def test_import_and_time_travel_with_the_catalog_in_postgresql_and_the_warehouse_on_s3(tmp_path, s3_server):
    lake = Lakehouse(tmp_path / "lakehouse")
    for day in DAYS:
        _day(lake, day, 12)
    with temporary_database("songnodes_iceberg") as db:
        env = {"SONGNODES_LAKEHOUSE_ROOT": str(lake.root),
               "SONGNODES_ICEBERG_CATALOG": f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{db}",
               "SONGNODES_ICEBERG_WAREHOUSE": "s3://lakehouse/songnodes", "SONGNODES_S3_ENDPOINT": s3_server,
               "PGPASSWORD": PG["password"]}
        _roundtrip(lake, env)
        keys = object_keys(s3_server, "songnodes/")
        assert any(k.endswith(".parquet") and "/silver/" in k or "silver.db" in k for k in keys)
        assert not (tmp_path / "iceberg").exists()  # nothing went to the local default
        import psycopg2

        with psycopg2.connect(dbname=db, **PG) as con, con.cursor() as cur:
            cur.execute("SELECT count(*) FROM iceberg_tables WHERE table_namespace = 'silver'")
            assert cur.fetchone()[0] == 5


def test_bad_settings_and_misfiled_rows_are_refused_clearly(tmp_path, monkeypatch):
    lake = Lakehouse(tmp_path / "lakehouse")
    _day(lake, DAYS[0], 3)
    env = {"SONGNODES_LAKEHOUSE_ROOT": str(lake.root),
           "SONGNODES_ICEBERG_CATALOG": "postgresql+psycopg2://u:PLANTED-secret@127.0.0.1:5432/x"}
    out = _run(env, "iceberg-import")
    assert out.returncode != 0 and "PGPASSWORD" in out.stderr and "PLANTED-secret" not in out.stderr + out.stdout
    out = _run({"SONGNODES_LAKEHOUSE_ROOT": str(lake.root), "SONGNODES_ICEBERG_WAREHOUSE": "http://127.0.0.1:9/x"},
               "iceberg-import")
    assert out.returncode != 0 and "SONGNODES_ICEBERG_WAREHOUSE" in out.stderr
    # rows whose scrape_date is not their partition folder's are not moved silently
    tracks = lake.read(SILVER_TRACKS, DAYS[0])
    lake.write(SILVER_TRACKS, SILVER_TRACKS.conform(tracks), DAYS[1])  # rows say DAYS[0], the folder DAYS[1]
    out = _run({"SONGNODES_LAKEHOUSE_ROOT": str(lake.root)}, "iceberg-import")
    assert out.returncode != 0 and f"partition {DAYS[1]}" in out.stderr and "another scrape_date" in out.stderr
    out = _run({"SONGNODES_LAKEHOUSE_ROOT": str(lake.root)}, "sql", "SELECT 1", "--as-of", "yesterday")
    assert out.returncode != 0 and "snapshot id or an ISO timestamp" in out.stderr


def test_an_unpartitioned_table_and_a_table_without_scrape_date_keep_their_rows(tmp_path):
    from songnodes_assets.lib.schemas import GOLD_TRANSITION_GRAPH, OPS_ALERTS

    lake = Lakehouse(tmp_path / "lakehouse")
    graph = GOLD_TRANSITION_GRAPH.conform([{c: None for c in GOLD_TRANSITION_GRAPH.column_names}])
    assert it.iceberg_schema(GOLD_TRANSITION_GRAPH).names == GOLD_TRANSITION_GRAPH.column_names  # one file, no spec
    # append-only tables also keep the run file each row came in (a retried run replaces only its own rows)
    assert it.iceberg_schema(OPS_ALERTS).names == OPS_ALERTS.column_names + ["scrape_date", "run_file"]
    assert it.iceberg_schema(BRONZE_RAW).names == BRONZE_RAW.column_names + ["run_file"]
    del graph
    alert = {"alert_id": "a1", "fired_at": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc), "alert_date": DAYS[0],
             "sensor": "s", "key": "k", "severity": "ERROR", "state": "open", "message": "m", "value": 1.0,
             "threshold": 0.0}
    lake.write(OPS_ALERTS, OPS_ALERTS.conform([alert]), DAYS[0])
    catalog = it.open_catalog(it.IcebergConfig.from_env(lake.root))
    (result,) = it.import_lakehouse(lake, catalog, [OPS_ALERTS], log=lambda _: None)
    assert result.counts_match and result.written == 1
    rows = it.snapshot_sources(catalog)["ops.alerts"]
    assert rows.schema.names == OPS_ALERTS.column_names and rows.to_pylist()[0]["alert_id"] == "a1"
    assert isinstance(rows, pa.Table)
