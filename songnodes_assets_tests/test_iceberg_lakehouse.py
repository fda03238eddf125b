"""The Iceberg table format (SONGNODES_TABLE_FORMAT=iceberg) behind the Lakehouse interface: the same rows and
dtypes as the parquet folder, one commit per partition write, bronze append-only with a retried run replacing only
its own rows, empty partitions kept as results, a failure committing nothing, readers seeing the old or the new
snapshot and never a mix. Default catalog (SQLite) and a local warehouse; the S3 + PostgreSQL path runs the whole
pipeline in test_celery_execution."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from songnodes_assets.lib import iceberg_tables as it
from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.iceberg_lakehouse import IcebergLakehouse, open_lake
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import (BRONZE_RAW, ENRICHMENT, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS,
                                          SILVER_PROBLEMS, SILVER_TRACKS, SILVER_TRANSITIONS, ContractViolation)
from songnodes_assets.lib.silver_build import build_silver
from songnodes_assets.lib.track_index import TrackIndex, usable

from .helpers import bronze_frame, wiki_page

DAY, DAY2 = "2024-05-01", "2024-05-02"
SILVER = {"playlists": SILVER_PLAYLISTS, "playlist_tracks": SILVER_PLAYLIST_TRACKS, "tracks": SILVER_TRACKS,
          "transitions": SILVER_TRANSITIONS, "problems": SILVER_PROBLEMS}


def _bronze(day: str, n_lines: int = 6, n_pages: int = 3) -> pd.DataFrame:
    pages = {f"2024-01-0{i + 1} - DJ {i} {day} - Show": wiki_page([f"# Artist {i}{k} - Title {k}" for k in range(n_lines)])
             for i in range(n_pages)}
    return bronze_frame(pages, scrape_date=day)


def _iceberg(tmp_path) -> IcebergLakehouse:
    root = tmp_path / "lakehouse"
    return IcebergLakehouse(root, it.IcebergConfig.from_env(root))


def _commits(lake: IcebergLakehouse, spec) -> int:
    """Metadata versions of the table: one per commit (an overwrite's delete and append snapshots are one commit)."""
    table = lake._table(spec)
    return 0 if table is None else len(table.metadata.metadata_log) + 1


def _fill(lake: Lakehouse, day: str, n_lines: int = 6) -> None:
    bronze = _bronze(day, n_lines)
    lake.write(BRONZE_RAW, bronze, day, file_name="run-a.parquet")
    silver = build_silver(bronze, day)
    for name, spec in SILVER.items():
        lake.write(spec, getattr(silver, name), day)


def test_the_same_writes_read_back_the_same_frames_views_and_partitions_as_the_parquet_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local, ice = Lakehouse(tmp_path / "local"), _iceberg(tmp_path)
    for lake in (local, ice):
        _fill(lake, DAY)
        _fill(lake, DAY2, n_lines=4)
    for spec in (BRONZE_RAW, *SILVER.values()):
        assert ice.partitions(spec) == local.partitions(spec) == [DAY, DAY2], spec.qualified
        for day in (DAY, DAY2):
            got, want = ice.read(spec, day), local.read(spec, day)
            assert len(want) or spec is SILVER_PROBLEMS, spec.qualified
            pd.testing.assert_frame_equal(got, want, obj=spec.qualified)  # values and dtypes (nullable ints …)
        pd.testing.assert_frame_equal(ice.read(spec, columns=spec.column_names[:3]),
                                      local.read(spec, columns=spec.column_names[:3]))
    url = local.read(BRONZE_RAW, DAY)["url"].iloc[1]
    pd.testing.assert_frame_equal(ice.read_where(BRONZE_RAW, DAY, "url", url),
                                  local.read_where(BRONZE_RAW, DAY, "url", url))
    assert [r["url"] for r in ice.iter_rows(BRONZE_RAW, DAY, batch_size=2)] == \
        [r["url"] for r in local.iter_rows(BRONZE_RAW, DAY, batch_size=2)]
    # every view of sql/views reads the same rows over Iceberg as over the folder
    views = [r[0] for r in connect(local).execute(
        "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    assert len(views) > 10
    count = "SELECT " + ", ".join(f"(SELECT count(*) FROM {v})" for v in views)
    assert connect(ice).execute(count).fetchone() == connect(local).execute(count).fetchone()
    assert not (tmp_path / "lakehouse").exists() or not list((tmp_path / "lakehouse").rglob("*.parquet"))


def test_a_partition_write_is_one_commit_and_a_rerun_replaces_instead_of_adding(tmp_path):
    lake = _iceberg(tmp_path)
    _fill(lake, DAY)
    before = {name: _commits(lake, spec) for name, spec in SILVER.items()}
    rows = {name: len(lake.read(spec, DAY)) for name, spec in SILVER.items()}
    _fill(lake, DAY)  # the same day again
    assert {name: _commits(lake, spec) for name, spec in SILVER.items()} == {n: c + 1 for n, c in before.items()}
    assert {name: len(lake.read(spec, DAY)) for name, spec in SILVER.items()} == rows
    assert len(lake.read(BRONZE_RAW, DAY)) == 3  # the same run file again: replaced, not added
    snap = lake.last_snapshots["silver.tracks"]
    assert lake._table(SILVER_TRACKS).current_snapshot().snapshot_id == snap
    assert lake._table(SILVER_TRACKS).current_snapshot().summary["songnodes.partition"] == DAY


def test_bronze_is_append_only_and_a_retried_run_replaces_only_its_own_rows(tmp_path):
    lake = _iceberg(tmp_path)
    lake.write(BRONZE_RAW, _bronze(DAY, n_pages=3), DAY, file_name="run-a.parquet")
    lake.write(BRONZE_RAW, _bronze(DAY, n_pages=2), DAY, file_name="run-b.parquet")
    lake.write(BRONZE_RAW, _bronze(DAY2, n_pages=1), DAY2, file_name="run-a.parquet")
    assert len(lake.read(BRONZE_RAW, DAY)) == 5 and len(lake.read(BRONZE_RAW, DAY2)) == 1
    lake.write(BRONZE_RAW, _bronze(DAY, n_pages=1), DAY, file_name="run-a.parquet")  # run a retried
    assert len(lake.read(BRONZE_RAW, DAY)) == 3 and len(lake.read(BRONZE_RAW, DAY2)) == 1
    assert "run_file" not in lake.read(BRONZE_RAW).columns


def test_an_empty_partition_is_a_result_and_reads_as_empty_with_the_contract_columns(tmp_path):
    lake = _iceberg(tmp_path)
    spec = ENRICHMENT["spotify"]
    assert not lake.files(spec, DAY) and lake.partitions(spec) == []
    lake.write(spec, spec.conform([]), DAY)
    assert lake.files(spec, DAY) and lake.partitions(spec) == [DAY]
    empty = lake.read(spec, DAY)
    assert empty.empty and list(empty.columns) == spec.column_names
    local = Lakehouse(tmp_path / "local")
    local.write(spec, spec.conform([]), DAY)
    assert dict(empty.dtypes) == dict(local.read(spec, DAY).dtypes)
    assert lake.partition_signatures(spec) == {DAY: "empty"}


def test_a_failure_or_a_contract_breach_mid_stream_commits_nothing(tmp_path):
    lake = _iceberg(tmp_path)
    _fill(lake, DAY)
    snapshot = lake._table(SILVER_TRACKS).current_snapshot().snapshot_id
    good = lake.read(SILVER_TRACKS, DAY)

    def batches():
        yield SILVER_TRACKS.conform(good.head(2))
        raise RuntimeError("killed mid-stream")

    with pytest.raises(RuntimeError, match="killed"):
        lake.write_batches(SILVER_TRACKS, batches(), DAY)
    bad = SILVER_TRACKS.conform(good).assign(bpm_guess=120.0)  # a field the contract does not know
    with pytest.raises(ContractViolation, match="bpm_guess"):
        lake.write(SILVER_TRACKS, bad, DAY)
    assert lake._table(SILVER_TRACKS).current_snapshot().snapshot_id == snapshot
    pd.testing.assert_frame_equal(lake.read(SILVER_TRACKS, DAY), good)


def test_the_track_index_and_the_windowed_bronze_read_work_on_iceberg(tmp_path):
    lake = _iceberg(tmp_path)
    _fill(lake, DAY)
    _fill(lake, DAY2, n_lines=4)
    assert not lake.root.exists() and usable(lake) and lake.root.is_dir()  # the cache's folder, made on demand
    index = TrackIndex(lake)
    assert index.sync() == [DAY, DAY2]
    assert index.sync() == []  # nothing changed: nothing re-read
    _fill(lake, DAY2, n_lines=5)
    assert index.sync() == [DAY2]
    fetched = lake.read(BRONZE_RAW)["fetched_at"]
    cut = fetched.min() + (fetched.max() - fetched.min()) / 2
    recent = lake.read_recent(BRONZE_RAW, "fetched_at", cut.to_pydatetime(), ["url", "fetched_at"])
    assert 0 < len(recent) and (recent["fetched_at"] >= cut).all()
    assert len(recent) == int((fetched >= cut).sum())


def test_readers_see_the_old_or_the_new_partition_never_a_mix(tmp_path):
    """A writer alternates a partition between two builds (3 and 5 playlists) while a reader reads it: every read
    is one whole build."""
    lake = _iceberg(tmp_path)
    builds = [build_silver(_bronze(DAY, n_pages=n), DAY).playlists for n in (3, 5)]
    lake.write(SILVER_PLAYLISTS, builds[0], DAY)
    wanted = {frozenset(b["playlist_id"]) for b in builds}
    stop, seen, errors = threading.Event(), [], []

    def read():
        reader = _iceberg(tmp_path)  # its own catalog connection, as another process has
        while not stop.is_set():
            try:
                seen.append(frozenset(reader.read(SILVER_PLAYLISTS, DAY)["playlist_id"]))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(8):
            lake.write(SILVER_PLAYLISTS, builds[(i + 1) % 2], DAY)
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors[:3]
    assert len(seen) >= 3 and set(seen) <= wanted and len(set(seen)) == 2, {len(s) for s in seen}


def test_the_table_format_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("SONGNODES_TABLE_FORMAT", raising=False)
    assert type(open_lake(tmp_path)) is Lakehouse
    monkeypatch.setenv("SONGNODES_TABLE_FORMAT", "Iceberg")
    assert isinstance(open_lake(tmp_path), IcebergLakehouse)
    monkeypatch.setenv("SONGNODES_TABLE_FORMAT", "delta")
    with pytest.raises(ValueError, match="SONGNODES_TABLE_FORMAT='delta'"):
        open_lake(tmp_path)
    from songnodes_assets.settings import Settings

    with pytest.raises(ValueError, match="parquet, iceberg"):
        Settings.from_env()
    monkeypatch.setenv("SONGNODES_TABLE_FORMAT", "iceberg")
    monkeypatch.setenv("SONGNODES_ICEBERG_CATALOG", "postgresql+psycopg2://u:secret@127.0.0.1/db")
    from songnodes_assets.defs.resources import resources_from_settings

    with pytest.raises(it.IcebergConfigError, match="password"):
        resources_from_settings(Settings.from_env())
    monkeypatch.setenv("SONGNODES_ICEBERG_CATALOG", "postgresql+psycopg2://u@127.0.0.1/db?sslmode=require&Password=x")
    with pytest.raises(it.IcebergConfigError, match="password"):
        it.IcebergConfig.from_env(tmp_path)
    monkeypatch.delenv("SONGNODES_ICEBERG_CATALOG")
    for endpoint in ("minio:9000", "http://key:secret@s3.local:9000", "ftp://s3.local"):
        monkeypatch.setenv("SONGNODES_S3_ENDPOINT", endpoint)
        with pytest.raises(it.IcebergConfigError, match="SONGNODES_S3_ENDPOINT"):
            it.IcebergConfig.from_env(tmp_path)
    monkeypatch.setenv("SONGNODES_S3_ENDPOINT", "http://127.0.0.1:9000")
    assert it.IcebergConfig.from_env(tmp_path).s3_endpoint == "http://127.0.0.1:9000"
    for bad in ("-1", "a month", "nan"):
        monkeypatch.setenv("SONGNODES_ICEBERG_KEEP_DAYS", bad)
        with pytest.raises(it.IcebergConfigError, match="SONGNODES_ICEBERG_KEEP_DAYS"):
            it.IcebergConfig.from_env(tmp_path)
    monkeypatch.setenv("SONGNODES_ICEBERG_KEEP_DAYS", "0")
    assert it.IcebergConfig.from_env(tmp_path).keep_days == 0


def test_a_pinned_lakehouse_reads_the_recorded_snapshots_while_newer_commits_land(tmp_path):
    lake = _iceberg(tmp_path)
    _fill(lake, DAY, n_lines=6)
    pins = {spec.qualified: lake.last_snapshots[spec.qualified] for spec in SILVER.values()}
    before = {name: lake.read(spec, DAY) for name, spec in SILVER.items()}
    _fill(lake, DAY, n_lines=3)  # a newer build of the day
    assert len(lake.read(SILVER_PLAYLIST_TRACKS, DAY)) < len(before["playlist_tracks"])
    pinned = lake.pinned(pins)
    for name, spec in SILVER.items():
        pd.testing.assert_frame_equal(pinned.read(spec, DAY), before[name], obj=name)
    query = "SELECT count(*) FROM silver.playlist_tracks"
    assert connect(pinned).execute(query).fetchone()[0] == len(before["playlist_tracks"])
    assert connect(lake).execute(query).fetchone()[0] == len(lake.read(SILVER_PLAYLIST_TRACKS, DAY))


def test_a_catalog_entry_pointing_outside_the_warehouse_is_refused(tmp_path):
    """A tampered or foreign catalog: a table located elsewhere, a data file registered from outside the warehouse,
    or a property re-pointing the table's IO is never read, written or handed to DuckDB; the error names it."""
    import pyarrow.parquet as pq

    lake = _iceberg(tmp_path)
    _fill(lake, DAY)
    foreign = IcebergLakehouse(tmp_path / "lakehouse", it.IcebergConfig(lake.cfg.catalog_uri, str(tmp_path / "x")))
    with pytest.raises(ContractViolation, match=r"silver.tracks: its location .* is outside the warehouse"):
        foreign.files(SILVER_TRACKS)
    with pytest.raises(ContractViolation, match="outside the warehouse"):
        connect(foreign)
    # a data file added from outside the warehouse
    outside = tmp_path / "outside.parquet"
    rows = lake.partition_rows(SILVER_TRACKS, DAY)
    pq.write_table(rows.replace_schema_metadata(None), outside)
    lake._table(SILVER_TRACKS).add_files([str(outside)])
    for read in (lambda: lake.files(SILVER_TRACKS), lambda: lake.read(SILVER_TRACKS, DAY), lambda: connect(lake),
                 lambda: it.snapshot_sources(lake.catalog)):
        with pytest.raises(ContractViolation, match=r"silver.tracks: 1 data files outside the warehouse .*outside"):
            read()
    # a property that would send the table's bytes to another endpoint
    table = lake._table(BRONZE_RAW)
    with table.transaction() as tx:
        tx.set_properties({"s3.endpoint": "http://127.0.0.1:9"})
    with pytest.raises(ContractViolation, match=r"bronze.raw_scrape_data: table properties \['s3.endpoint'\]"):
        lake.write(BRONZE_RAW, _bronze(DAY2), DAY2, file_name="run-z.parquet")
    assert len(lake.read(SILVER_PLAYLISTS, DAY)) == 3  # other tables read as before


def test_a_warehouse_folder_with_spaces_and_accents_is_used_as_named(tmp_path):
    root = tmp_path / "a folder" / "é x"
    lake = IcebergLakehouse(root / "lakehouse", it.IcebergConfig.from_env(root / "lakehouse"))
    _fill(lake, DAY)
    assert len(list((root / "iceberg" / "warehouse").rglob("*.parquet"))) == 5  # bronze + 4 non-empty silver
    assert not [p for p in tmp_path.rglob("*") if "%20" in p.name or "%C3" in p.name]
    assert len(lake.read(SILVER_PLAYLISTS, DAY)) == 3 and connect(lake).execute(
        "SELECT count(*) FROM silver.playlists_by_partition").fetchone()[0] == 3


def test_a_column_added_to_the_contract_reads_as_nulls_before_the_table_has_it(tmp_path, monkeypatch):
    from songnodes_assets.lib import schemas

    lake = _iceberg(tmp_path)
    _fill(lake, DAY)
    grown = schemas.TableSpec(SILVER_PLAYLISTS.layer, SILVER_PLAYLISTS.name,
                              (*SILVER_PLAYLISTS.columns, schemas.Col("mix_genre", "str")))
    got = lake.read(grown, DAY)
    assert list(got.columns) == grown.column_names and got["mix_genre"].isna().all() and len(got) == 3
    # the next build writes the new column: the table grows it, the old partition keeps nulls, the new has values
    new = build_silver(_bronze(DAY2), DAY2).playlists.assign(mix_genre="techno")
    lake.write(grown, grown.conform(new), DAY2)
    assert list(lake.read(grown, DAY2)["mix_genre"]) == ["techno"] * 3
    assert lake.read(grown, DAY)["mix_genre"].isna().all()
    assert connect(lake).execute("SELECT count(*) FROM silver.playlists_by_partition").fetchone()[0] == 6
    assert len(list(lake.iter_rows(BRONZE_RAW, DAY, batch_size=1))) == 3


def test_concurrent_empty_partitions_are_all_kept(tmp_path):
    """Two writers commit empty partitions of one table at once (the loser's commit is retried): both dates stay."""
    spec = ENRICHMENT["lastfm"]
    _iceberg(tmp_path).write(spec, spec.conform([]), "2024-01-01")  # the table exists
    days = [f"2024-02-{d:02d}" for d in range(1, 7)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(days)) as pool:  # a writer's error is raised here
        list(pool.map(lambda day: _iceberg(tmp_path).write(spec, spec.conform([]), day), days))
    assert _iceberg(tmp_path).partitions(spec) == ["2024-01-01", *days]


def test_time_travel_never_lands_between_the_two_snapshots_of_an_overwrite(tmp_path):
    """An overwrite is a delete snapshot and an append snapshot in one commit; ``--as-of`` a time between them
    reads the partition as it was before that commit, not empty."""
    from pyiceberg.table.snapshots import Operation

    lake = _iceberg(tmp_path)
    _fill(lake, DAY, n_lines=6)
    _fill(lake, DAY, n_lines=3)
    table = lake._table(SILVER_PLAYLIST_TRACKS)
    delete = [s for s in table.metadata.snapshots if s.summary.operation == Operation.DELETE][-1]
    rows = it.snapshot_sources(lake.catalog, as_of_ms=delete.timestamp_ms)["silver.playlist_tracks"]
    assert len(rows) == 3 * 6
    assert len(it.snapshot_sources(lake.catalog)["silver.playlist_tracks"]) == 3 * 3


@pytest.mark.parametrize("catalog", ["sqlite", "postgresql"])
def test_one_builds_commits_at_a_time(tmp_path, catalog, monkeypatch):
    """``commit_lock``: a second holder (another lakehouse object, as another process or host has) waits until the
    first lets go, on the SQLite catalog's file lock and on PostgreSQL's advisory lock."""
    import contextlib

    from .pg import PG, temporary_database

    with (temporary_database("songnodes_lock") if catalog == "postgresql" else contextlib.nullcontext()) as db:
        if db:
            monkeypatch.setenv("PGPASSWORD", PG["password"])
            uri = f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{db}"
            make = lambda: IcebergLakehouse(tmp_path / "l", it.IcebergConfig(uri, str(tmp_path / "wh")))  # noqa: E731
        else:
            make = lambda: _iceberg(tmp_path)  # noqa: E731
        first, second, got = make(), make(), threading.Event()

        def take():
            with second.commit_lock():
                got.set()

        with first.commit_lock():
            thread = threading.Thread(target=take)
            thread.start()
            assert not got.wait(0.5)  # held: the second waits
        assert got.wait(10)  # released: the second gets it
        thread.join(10)
        first.catalog.engine.dispose()
        second.catalog.engine.dispose()


def test_staging_left_by_a_killed_writer_is_swept_and_a_live_one_kept(tmp_path, monkeypatch):
    import os
    import tempfile
    import time

    from songnodes_assets.lib import iceberg_lakehouse as il

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    old, live = (tmp_path / "tmp" / f"{il.STAGING_PREFIX}old"), (tmp_path / "tmp" / f"{il.STAGING_PREFIX}live")
    for d in (old, live):
        d.mkdir()
        (d / "_x.partial").write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    lake = _iceberg(tmp_path)
    _fill(lake, DAY)
    assert not old.exists() and live.exists()
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == [live.name]  # the writes left nothing behind


def test_history_older_than_the_kept_days_is_expired_and_as_of_says_so(tmp_path):
    """Snapshots older than SONGNODES_ICEBERG_KEEP_DAYS (30) are expired after a commit, so the metadata a commit or
    read parses stays about that long; the rows are untouched; --as-of before that is an error saying why."""
    import time

    lake = _iceberg(tmp_path)
    for n in (6, 5, 4):
        _fill(lake, DAY, n_lines=n)
    table = lake._table(SILVER_PLAYLIST_TRACKS)
    first = table.metadata.snapshots[0].timestamp_ms
    assert len(table.metadata.snapshots) == 5  # append, then two overwrites of two snapshots each
    assert lake.expire_history(table) == 0  # all younger than 30 days: kept
    assert lake.expire_history(table, now=time.time() + 30.5 * 86400) == 0  # not yet a day past: kept
    assert lake.expire_history(table, now=time.time() + 40 * 86400) == 4
    table = lake._table(SILVER_PLAYLIST_TRACKS)
    assert [s.snapshot_id for s in table.metadata.snapshots] == [table.current_snapshot().snapshot_id]
    assert len(lake.read(SILVER_PLAYLIST_TRACKS, DAY)) == 3 * 4
    with pytest.raises(ValueError, match="silver.playlist_tracks: no snapshot as of that time is kept"):
        lake.snapshot_tables(as_of_ms=first + 1)
    assert len(lake.snapshot_tables()["silver.playlist_tracks"]) == 3 * 4


def test_the_import_commits_as_the_assets_do_an_empty_partition_included(tmp_path):
    """``import_lakehouse`` writes through the assets' commit: an empty local partition arrives as a built (empty)
    partition, and a second import leaves everything alone."""
    spec = ENRICHMENT["discogs"]
    local = Lakehouse(tmp_path / "local")
    _fill(local, DAY)
    local.write(spec, spec.conform([]), DAY)
    lake = _iceberg(tmp_path)
    first = {r.table: r for r in it.import_lakehouse(local, lake.catalog, log=lambda _: None)}
    assert first["enrichment.discogs"].written == 1 and lake.partitions(spec) == [DAY] and lake.files(spec, DAY)
    assert all(r.counts_match for r in first.values())
    again = it.import_lakehouse(local, lake.catalog, log=lambda _: None)
    assert sum(r.written for r in again) == 0 and all(r.unchanged == r.partitions for r in again)
