"""Storage contracts: strict schemas on write, atomic publish, and the silver contract checks."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from songnodes_assets.lib import contracts
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import SILVER_PLAYLIST_TRACKS, SILVER_TRACKS, ContractViolation
from songnodes_assets.lib.silver_build import build_silver, entry_fields
from songnodes_assets.settings import Settings

from .helpers import bronze_frame, wiki_page

REPO = Path(__file__).resolve().parents[1]


def silver(lines):
    return build_silver(bronze_frame({"2024-01-01 - DJ - Show": wiki_page(lines)}), "2024-05-01")


def test_every_parser_field_is_in_the_contract():
    assert set(entry_fields()) <= set(SILVER_PLAYLIST_TRACKS.column_names)


def test_unknown_column_is_rejected_by_name_and_nothing_is_written(tmp_path):
    lake = Lakehouse(tmp_path)
    t = silver(["A - One", "B - Two"]).tracks
    with pytest.raises(ContractViolation, match="bpm_guess"):
        lake.write(SILVER_TRACKS, t.assign(bpm_guess=120), "2024-05-01")
    assert lake.files(SILVER_TRACKS) == []


def test_missing_or_reordered_or_mistyped_column_is_rejected(tmp_path):
    lake = Lakehouse(tmp_path)
    t = silver(["A - One"]).tracks
    with pytest.raises(ContractViolation):
        lake.write(SILVER_TRACKS, t.drop(columns=["label"]), "d")
    with pytest.raises(ContractViolation):
        lake.write(SILVER_TRACKS, t[list(reversed(t.columns))], "d")
    with pytest.raises(ContractViolation):
        lake.write(SILVER_TRACKS, t.assign(n_occurrences=t["n_occurrences"].astype(str)), "d")


def test_write_replaces_atomically_and_reads_back(tmp_path):
    lake = Lakehouse(tmp_path)
    t1 = silver(["A - One", "B - Two"]).tracks
    t2 = silver(["C - Three"]).tracks
    lake.write(SILVER_TRACKS, t1, "2024-05-01")
    lake.write(SILVER_TRACKS, t2, "2024-05-01")
    files = lake.files(SILVER_TRACKS, "2024-05-01")
    assert [f.name for f in files] == ["part.parquet"]
    assert list(lake.read(SILVER_TRACKS, "2024-05-01")["title"]) == ["Three"]
    assert not list(files[0].parent.glob("_*"))  # no temp files left behind


def test_tables_staged_together_change_together(tmp_path):
    lake = Lakehouse(tmp_path)
    old = silver(["A - One", "B - Two"])
    lake.write(SILVER_TRACKS, old.tracks, "d")
    lake.write(SILVER_PLAYLIST_TRACKS, old.playlist_tracks, "d")
    new = silver(["C - Three"])

    def failing():
        yield new.playlist_tracks
        raise OSError("disk full")

    staged = [lake.stage(SILVER_TRACKS, [new.tracks], "d")]
    with pytest.raises(OSError):
        staged.append(lake.stage(SILVER_PLAYLIST_TRACKS, failing(), "d"))
    lake.discard(staged)  # the first table was written but never made visible
    assert sorted(lake.read(SILVER_TRACKS, "d")["title"]) == ["One", "Two"]
    assert sorted(lake.read(SILVER_PLAYLIST_TRACKS, "d")["title"]) == ["One", "Two"]
    assert not list(lake.partition_dir(SILVER_TRACKS, "d").glob("_*"))
    lake.publish([lake.stage(SILVER_TRACKS, [new.tracks], "d"), lake.stage(SILVER_PLAYLIST_TRACKS, [new.playlist_tracks], "d")])
    assert list(lake.read(SILVER_TRACKS, "d")["title"]) == list(lake.read(SILVER_PLAYLIST_TRACKS, "d")["title"]) == ["Three"]


def test_failed_write_leaves_the_previous_file(tmp_path):
    lake = Lakehouse(tmp_path)
    lake.write(SILVER_TRACKS, silver(["A - One"]).tracks, "d")

    def batches():  # the writer fails after half the data is on disk
        yield silver(["B - Two"]).tracks
        raise OSError("disk full")

    with pytest.raises(OSError):
        lake.write_batches(SILVER_TRACKS, batches(), "d")
    assert list(lake.read(SILVER_TRACKS, "d")["title"]) == ["One"]
    lake.write_batches(SILVER_TRACKS, [silver(["C - Three"]).tracks, silver(["D - Four"]).tracks], "d")
    assert list(lake.read(SILVER_TRACKS, "d")["title"]) == ["Three", "Four"]
    assert lake.read(SILVER_TRACKS, "d")["n_occurrences"].dtype == "Int64"  # pandas dtypes survive batching
    lake.write_batches(SILVER_TRACKS, iter([]), "d")  # no data at all: an empty partition, not a missing one
    assert lake.read(SILVER_TRACKS, "d").empty and len(lake.files(SILVER_TRACKS, "d")) == 1
    assert not list(lake.partition_dir(SILVER_TRACKS, "d").glob("_*"))


def test_stale_partial_files_are_swept_and_never_read(tmp_path):
    lake = Lakehouse(tmp_path)
    d = lake.partition_dir(SILVER_TRACKS, "d")
    d.mkdir(parents=True)
    stale = d / "_dead.partial"
    stale.write_bytes(b"junk")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert lake.files(SILVER_TRACKS) == []
    lake.write(SILVER_TRACKS, silver(["A - One"]).tracks, "d")
    assert not stale.exists()


def test_contract_checks_name_url_and_line():
    pt = silver(["A - One"]).playlist_tracks
    bad = pt.copy()
    bad.loc[0, "artists"] = ["[7?] W"]
    bad.loc[0, "title"] = "One [Label]"
    assert contracts.markers_in_artists(pt) == [] and contracts.labels_in_titles(pt) == []
    (m,) = contracts.markers_in_artists(bad)
    assert "line 3" in m and "[7?] W" in m and "http://127.0.0.1/w/2024-01-01_-_DJ_-_Show" in m
    (lbl,) = contracts.labels_in_titles(bad)
    assert "One [Label]" in lbl


def test_empty_tracklist_check():
    t = build_silver(bronze_frame({"X": "== Tracklist ==\n<list>\n</list>\n"}), "d")
    assert contracts.empty_tracklists(t.playlists) == ["http://127.0.0.1/w/X?action=raw: tracklist section with 0 parsed entries"]
    ok = build_silver(bronze_frame({"Y": "No tracklist yet.\n[[Category:Tracklist: none]]"}), "d")
    assert contracts.empty_tracklists(ok.playlists) == []


def test_unknown_columns_check_on_stored_files(tmp_path):
    lake = Lakehouse(tmp_path)
    lake.write(SILVER_TRACKS, silver(["A - One"]).tracks, "d")
    stored = lake.file_columns(SILVER_TRACKS, "d")
    assert contracts.unknown_columns(SILVER_TRACKS, stored) == []
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = next(iter(stored))
    pq.write_table(pq.read_table(path).append_column("mystery", pa.array(["x"])), path)
    (problem,) = contracts.unknown_columns(SILVER_TRACKS, lake.file_columns(SILVER_TRACKS, "d"))
    assert "mystery" in problem


def test_bronze_errors_are_not_parsed_but_counted():
    df = pd.concat([bronze_frame({"A": wiki_page(["X - Y"])}), bronze_frame({"B": wiki_page(["X - Z"])}, status=503)])
    df.loc[df["status"] == 503, "error_kind"] = "http_status"
    t = build_silver(df.reset_index(drop=True), "d")
    assert list(t.playlists["page_title"]) == ["A"] and t.pages_skipped == 1


def test_settings_errors_are_clear(monkeypatch):
    monkeypatch.setenv("SONGNODES_MIN_INTERVAL_S", "fast")
    with pytest.raises(ValueError, match="SONGNODES_MIN_INTERVAL_S"):
        Settings.from_env()
    monkeypatch.setenv("SONGNODES_MIN_INTERVAL_S", "1")
    monkeypatch.setenv("SONGNODES_MIXESDB_BASE_URL", "ftp://example.org")
    with pytest.raises(ValueError, match="http"):
        Settings.from_env()


def test_default_settings_are_polite(monkeypatch):
    monkeypatch.delenv("SONGNODES_MIXESDB_BASE_URL")
    s = Settings.from_env()
    assert s.mixesdb_base_url == "https://www.mixesdb.com" and s.min_interval_s >= 4
    assert "www.mixesdb.com" in s.allowed_hosts and "SongNodesBot" in s.user_agent and "+" in s.user_agent


def test_dagster_definitions_validate():
    exe = Path(sys.executable).parent / "dagster"
    res = subprocess.run([str(exe), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "All code locations passed validation" in res.stdout + res.stderr


def test_an_arrow_batch_is_held_to_the_same_contract_as_a_frame(tmp_path):
    import pyarrow as pa

    t = silver(["A - One", "B - Two"]).tracks
    good = Lakehouse.to_arrow(SILVER_TRACKS, t)
    assert SILVER_TRACKS.validate_arrow(good).equals(good)
    with pytest.raises(ContractViolation, match="bpm_guess"):
        SILVER_TRACKS.validate_arrow(good.append_column("bpm_guess", pa.array([120, 121])))
    with pytest.raises(ContractViolation, match="missing columns \\['label'\\]"):
        SILVER_TRACKS.validate_arrow(good.drop_columns(["label"]))
    with pytest.raises(ContractViolation, match="out of contract order"):
        SILVER_TRACKS.validate_arrow(good.select(list(reversed(good.column_names))))
    with pytest.raises(ContractViolation, match="'n_occurrences' is string"):
        SILVER_TRACKS.validate_arrow(good.set_column(good.column_names.index("n_occurrences"), "n_occurrences",
                                                     pa.array(["many", "x"])))
    with pytest.raises(ContractViolation, match="'title': 1 nulls"):
        SILVER_TRACKS.validate_arrow(good.set_column(good.column_names.index("title"), "title", pa.array(["x", None])))
    with pytest.raises(ContractViolation, match="'artists' is list<item: int64>"):
        SILVER_TRACKS.validate_arrow(good.set_column(good.column_names.index("artists"), "artists",
                                                     pa.array([[1], [2]])))
    # a castable type (int32 for int64) is cast, and the file reads back as the frame would
    cast = SILVER_TRACKS.validate_arrow(good.set_column(good.column_names.index("n_occurrences"), "n_occurrences",
                                                        good["n_occurrences"].cast(pa.int32())))
    lake = Lakehouse(tmp_path)
    lake.write_batches(SILVER_TRACKS, [cast], "d")
    pd.testing.assert_frame_equal(lake.read(SILVER_TRACKS, "d"), Lakehouse(tmp_path).read_files(
        SILVER_TRACKS, [lake.write(SILVER_TRACKS, t, "e")]))
