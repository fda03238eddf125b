"""`songnodes sql` is read-only by DuckDB's own sandbox (``catalog.connect``) and, as a second line, by the
statement check (``catalog.check_query``). Every probe an attacker used is tried here, on a small real lakehouse."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from songnodes_assets.lib.catalog import QueryRefused, connect, run_query, table_counts
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import (BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS,
                                          SILVER_TRANSITIONS)
from songnodes_assets.lib.silver_build import build_silver

from .helpers import bronze_frame, wiki_page

REPO = Path(__file__).resolve().parents[1]
SONGNODES = Path(sys.executable).parent / "songnodes"
DATE = "2024-05-01"
EVIL_COPY = "EXPLAIN ANALYZE COPY (SELECT 'echo owned' AS line) TO 'evil.sh' (FORMAT csv, HEADER false, QUOTE '')"


def make_lake(root: Path) -> Lakehouse:
    pages = {"2024-01-01 - DJ One - Show": wiki_page(["A - One", "B - Two", "C - Three"]),
             "2024-01-02 - DJ Two - Show": wiki_page(["A - One", "B - Two"])}
    bronze = bronze_frame(pages, scrape_date=DATE)
    lake = Lakehouse(root)
    lake.write(BRONZE_RAW, bronze, DATE, file_name="run-test.parquet")
    silver = build_silver(bronze, DATE)
    for spec, df in [(SILVER_PLAYLISTS, silver.playlists), (SILVER_PLAYLIST_TRACKS, silver.playlist_tracks),
                     (SILVER_TRACKS, silver.tracks), (SILVER_TRANSITIONS, silver.transitions)]:
        lake.write(spec, df, DATE)
    return lake


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under the roots with its sha256: equal snapshots mean nothing was written or replaced."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def lake(tmp_path) -> Lakehouse:
    return make_lake(tmp_path / "lake")


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """The process's cwd during a test: relative COPY targets (evil.sh) would land here."""
    d = tmp_path / "work"
    d.mkdir()
    monkeypatch.chdir(d)
    return d


@pytest.fixture
def outside_parquet(tmp_path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    path = d / "secret.parquet"
    pd.DataFrame({"secret": ["s3cr3t"]}).to_parquet(path)
    return path


def songnodes_sql(*args, cwd, env=None):
    return subprocess.run([str(SONGNODES), "sql", *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


# ---- through the real console script ----------------------------------------------------------------------

def test_cli_refuses_reading_etc_passwd(lake, work):
    res = songnodes_sql("--lakehouse", str(lake.root), "SELECT * FROM read_csv('/etc/passwd')", cwd=work)
    assert res.returncode == 2, res.stdout
    assert "blocked by the DuckDB sandbox" in res.stderr and "/etc/passwd" in res.stderr
    assert "Traceback" not in res.stderr and "root:" not in res.stdout


def test_cli_refuses_explain_analyze_copy_and_writes_nothing(lake, work, tmp_path):
    before = snapshot(lake.root, work)
    res = songnodes_sql("--lakehouse", str(lake.root), EVIL_COPY, cwd=work)
    assert res.returncode == 2, res.stdout
    assert "EXPLAIN ANALYZE is refused" in res.stderr and "Traceback" not in res.stderr
    assert not (work / "evil.sh").exists() and not list(tmp_path.rglob("evil.sh"))
    assert snapshot(lake.root, work) == before
    # the same trick aimed at a silver file (the attack that replaced part.parquet)
    part = lake.files(SILVER_TRANSITIONS)[0]
    res = songnodes_sql("--lakehouse", str(lake.root),
                        f"EXPLAIN ANALYZE COPY (SELECT 'x' AS a) TO '{part}' (FORMAT csv, USE_TMP_FILE false)", cwd=work)
    assert res.returncode == 2 and "EXPLAIN ANALYZE is refused" in res.stderr
    assert snapshot(lake.root, work) == before


def test_cli_normal_query_still_works(lake, work):
    res = songnodes_sql("--lakehouse", str(lake.root), "SELECT * FROM silver.transitions ORDER BY weight DESC",
                        "--format", "csv", cwd=work)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "from_track_id,to_track_id,weight,first_seen_date,last_seen_date"
    assert len(lines) == 3 and lines[1].split(",")[2] == "2"  # A->B is played in both playlists
    assert res.stderr == ""


def test_cli_missing_lakehouse_is_an_error_naming_it(tmp_path, work):
    missing = tmp_path / "no_such_lake"
    for args, env in [(["--lakehouse", str(missing)], {}), ([], {"SONGNODES_LAKEHOUSE_ROOT": str(missing)})]:
        res = songnodes_sql(*args, "SELECT count(*) AS n FROM silver.tracks", "--format", "json", cwd=work, env=env)
        assert res.returncode == 2 and res.stdout == ""  # an error, not an empty answer that looks like data
        assert f"no lakehouse at {missing}" in res.stderr and "SONGNODES_LAKEHOUSE_ROOT" in res.stderr
        assert "--lakehouse" in res.stderr
    assert not missing.exists()  # looking does not create it
    empty = tmp_path / "empty_lake"
    empty.mkdir()
    res = songnodes_sql("--root", str(empty), "SELECT count(*) AS n FROM silver.tracks", cwd=work)
    assert res.returncode == 0 and "holds no parquet files" in res.stderr and str(empty) in res.stderr
    a_file = tmp_path / "not_a_dir"
    a_file.write_text("x")
    res = songnodes_sql("--lakehouse", str(a_file), "SELECT 1", cwd=work)
    assert res.returncode == 2 and "is not a directory" in res.stderr and "SONGNODES_LAKEHOUSE_ROOT" in res.stderr


# ---- in process: the statement check, then DuckDB's own sandbox --------------------------------------------

REFUSED_BY_CHECK = [
    (EVIL_COPY, "EXPLAIN ANALYZE is refused"),
    ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE is refused"),
    ("/* hi */ EXPLAIN -- x\n ANALYSE COPY (SELECT 1) TO 'evil.sh'", "EXPLAIN ANALYZE is refused"),
    ("EXPLAIN (ANALYZE) COPY (SELECT 1) TO 'evil.sh'", "EXPLAIN options are refused"),
    ("EXPLAIN COPY (SELECT 1) TO 'evil.sh'", "COPY statements are refused"),
    ("EXPLAIN CREATE TABLE t AS SELECT 1", "CREATE statements are refused"),
    ("COPY (SELECT 1) TO 'evil.sh'", "COPY statements are refused"),
    ("COPY silver.tracks FROM '/etc/passwd'", "COPY statements are refused"),
    ("INSTALL httpfs", "INSTALL statements are refused"),
    ("LOAD httpfs", "LOAD statements are refused"),
    ("SET enable_external_access = true", "SET statements are refused"),
    ("SET allowed_directories = ['/']", "SET statements are refused"),
    ("SET GLOBAL allowed_paths = ['/etc/passwd']", "SET statements are refused"),
    ("RESET lock_configuration", "RESET statements are refused"),
    ("SET VARIABLE x = 1", "SET statements are refused"),
    ("PRAGMA enable_profiling", "PRAGMA statements are refused"),
    ("CALL pragma_version()", "CALL statements are refused"),
    ("CHECKPOINT", "CHECKPOINT statements are refused"),
    ("CREATE TABLE t AS SELECT 1", "CREATE statements are refused"),
    ("CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE statements are refused"),
    ("DROP VIEW silver.tracks", "DROP statements are refused"),
    ("ALTER VIEW silver.tracks RENAME TO t", "ALTER statements are refused"),
    ("INSERT INTO silver.tracks SELECT * FROM silver.tracks", "INSERT statements are refused"),
    ("UPDATE silver.tracks SET title = 'x'", "UPDATE statements are refused"),
    ("DELETE FROM silver.tracks", "DELETE statements are refused"),
    ("ATTACH ':memory:' AS x", "ATTACH statements are refused"),
    ("ATTACH '/tmp/evil.db' AS x", "ATTACH statements are refused"),
    ("DETACH x", "DETACH statements are refused"),
    ("USE silver", "USE statements are refused"),
    ("EXPORT DATABASE 'dump'", "EXPORT statements are refused"),
    ("IMPORT DATABASE 'dump'", "IMPORT statements are refused"),
    ("UPDATE EXTENSIONS", "cannot parse query"),
    ("SELECT 1; SELECT 2", "exactly one statement, got 2"),
    ("SELECT 1; DROP VIEW silver.tracks", "exactly one statement, got 2"),
    ("PIVOT silver.tracks ON title", "PIVOT statements are refused"),  # DuckDB runs it as several statements
    # DuckDB 2.0 parses a COPY / INSERT / UPDATE / DELETE inside a CTE as a SELECT and runs it
    ("WITH x AS (COPY (SELECT 'echo owned' AS l) TO 'evil.sh' (FORMAT csv)) SELECT 1", "COPY is refused"),
    ("WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", "INSERT is refused"),
    ("SELECT 1 WHERE EXISTS (WITH y AS (DELETE FROM t RETURNING *) SELECT 1)", "DELETE is refused"),
    ("EXPLAIN WITH x AS (COPY (SELECT 1) TO 'evil.sh') SELECT 1", "COPY is refused"),
]


@pytest.mark.parametrize("query, message", REFUSED_BY_CHECK, ids=[q[:50] for q, _ in REFUSED_BY_CHECK])
def test_statement_check_refuses(lake, work, query, message):
    before = snapshot(lake.root, work)
    con = connect(lake.root)
    with pytest.raises(QueryRefused, match=re.escape(message)):
        run_query(con, query)
    assert snapshot(lake.root, work) == before
    assert con.execute("SELECT count(*) FROM silver.tracks").fetchone()[0] == 3  # views intact


READS_OUTSIDE = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_json('/proc/self/environ')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_text('~/.bashrc')",
    "SELECT * FROM 'http://127.0.0.1:9/x.csv'",
    "SELECT * FROM read_parquet('https://127.0.0.1:9/x.parquet')",
    "SELECT * FROM 's3://bucket/x.parquet'",
    "SELECT * FROM read_csv('file:///etc/passwd')",
]


def _refused_by_sandbox(con, query):
    """Run ``query`` straight on the DuckDB connection (no statement check): DuckDB itself must refuse it."""
    with pytest.raises(duckdb.Error) as info:
        con.execute(query).fetchall()
    return str(info.value)


@pytest.mark.parametrize("query", READS_OUTSIDE)
def test_reads_outside_the_lakehouse_are_refused(lake, work, query):
    con = connect(lake.root)
    with pytest.raises(QueryRefused, match="blocked by the DuckDB sandbox"):
        run_query(con, query)
    assert "disabled by configuration" in _refused_by_sandbox(con, query)


def test_parquet_outside_the_lakehouse_and_lakehouse_traversal_are_refused(lake, work, outside_parquet):
    con = connect(lake.root)
    part = lake.files(SILVER_TRACKS)[0]
    for query in (f"SELECT * FROM read_parquet('{outside_parquet}')", f"SELECT * FROM '{outside_parquet}'",
                  f"SELECT * FROM read_text('{part}/../../../../../outside/secret.parquet')",
                  f"SELECT * FROM read_text('{lake.root}/../outside/secret.parquet')",
                  f"SELECT * FROM glob('{lake.root}/**')"):
        with pytest.raises(QueryRefused, match="blocked by the DuckDB sandbox"):
            run_query(con, query)
        assert "disabled by configuration" in _refused_by_sandbox(con, query)
    # the view's own files stay readable (that is all the sandbox grants)
    assert run_query(con, f"SELECT count(*) FROM read_parquet('{part}')")[1] == [(3,)]
    assert outside_parquet.exists() and pd.read_parquet(outside_parquet)["secret"].tolist() == ["s3cr3t"]


def test_duckdb_sandbox_refuses_writes_extensions_and_setting_changes(lake, work, tmp_path):
    """Second line of defence: even with the statement check bypassed, DuckDB refuses."""
    before = snapshot(lake.root, work)
    con = connect(lake.root)
    assert con.execute("SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
                       "current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions'), "
                       "current_setting('allow_community_extensions'), current_setting('allow_persistent_secrets'), "
                       "current_setting('allowed_directories'), current_setting('temp_directory')").fetchone()[:6] == (
        False, True, False, False, False, False)
    # DuckDB keeps only its spill directory open, and that is a private one, not ./.tmp of the cwd
    (spill_dir,), spill = con.execute("SELECT current_setting('allowed_directories'), "
                                      "current_setting('temp_directory')").fetchone()
    assert spill_dir.rstrip("/") == spill and Path(spill).parent.name.startswith("songnodes-duckdb-")
    assert not spill.startswith(str(work)) and not spill.startswith(str(lake.root))
    assert sorted(con.execute("SELECT current_setting('allowed_paths')").fetchone()[0]) == sorted(
        str(f) for spec in (BRONZE_RAW, SILVER_PLAYLISTS, SILVER_PLAYLIST_TRACKS, SILVER_TRACKS, SILVER_TRANSITIONS)
        for f in lake.files(spec))
    for query in (EVIL_COPY, "COPY (SELECT 'echo owned' AS line) TO 'evil.sh' (FORMAT csv)",
                  f"COPY (SELECT 1 AS a) TO '{lake.root}/silver/new.parquet'",
                  f"COPY (SELECT 1 AS a) TO '{lake.files(SILVER_TRACKS)[0]}'",
                  "WITH x AS (COPY (SELECT 'echo owned' AS l) TO 'evil.sh' (FORMAT csv)) SELECT 1",
                  f"EXPORT DATABASE '{tmp_path / 'dump'}'", f"ATTACH '{tmp_path / 'evil.db'}' AS evil",
                  "COPY (SELECT 1 AS a) TO '.tmp/evil.sh' (FORMAT csv)",
                  "INSTALL httpfs", "LOAD httpfs", "FROM duckdb_extensions()"):
        assert "disabled" in _refused_by_sandbox(con, query), query
    for query in ("SET enable_external_access = true", "RESET enable_external_access",
                  "SET allowed_directories = ['/']", "SET allowed_paths = ['/etc/passwd']",
                  "SET lock_configuration = false", "RESET lock_configuration", "SET autoload_known_extensions = true",
                  "SET autoinstall_known_extensions = true", "SET allow_community_extensions = true",
                  "SET GLOBAL enable_external_access = true", "PRAGMA enable_profiling",
                  "SET profiling_output = 'evil.sh'", "SET log_query_path = 'evil.sh'"):
        assert "configuration has been locked" in _refused_by_sandbox(con, query), query
    # a function of a not-loaded extension is not auto-installed or auto-loaded
    assert "not in the catalog" in _refused_by_sandbox(con, "SELECT * FROM sqlite_scan('x.db', 't')")
    assert "disabled by configuration" in _refused_by_sandbox(con, "SELECT * FROM read_csv('/etc/passwd')")
    assert not list(tmp_path.rglob("evil.sh")) and not (tmp_path / "dump").exists()
    assert not list(tmp_path.rglob("evil.db*"))
    assert snapshot(lake.root, work) == before
    assert con.execute("SELECT count(*) FROM silver.transitions").fetchone()[0] == 2


def test_lakehouse_files_cannot_be_overwritten_through_run_query(lake, work):
    """DuckDB's allowed_paths grant is per file, not per read/write: the statement check is what keeps a query
    from writing a listed part.parquet (every writing form refused, file unchanged)."""
    part = lake.files(SILVER_TRANSITIONS)[0]
    before = snapshot(lake.root)
    con = connect(lake.root)
    for query in (f"COPY (SELECT 1 AS a) TO '{part}' (FORMAT csv, USE_TMP_FILE false)",
                  f"EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{part}' (FORMAT csv, USE_TMP_FILE false)",
                  f"WITH x AS (COPY (SELECT 1 AS a) TO '{part}' (FORMAT csv, USE_TMP_FILE false)) SELECT 1",
                  f"ATTACH '{part}' AS p"):
        with pytest.raises(QueryRefused):
            run_query(con, query)
    assert snapshot(lake.root) == before


def test_sandbox_is_per_connection():
    """Locking one catalog connection does not lock DuckDB for the rest of the process."""
    connect(Path("/nonexistent/lake"))
    other = duckdb.connect(":memory:")
    assert other.execute("SELECT current_setting('enable_external_access'), "
                         "current_setting('lock_configuration')").fetchone() == (True, False)


# ---- what must keep working ---------------------------------------------------------------------------------

READ_ONLY_OK = [
    "SELECT * FROM silver.transitions ORDER BY weight DESC",
    "WITH w AS (SELECT * FROM silver.transitions) SELECT count(*) FROM w",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r",
    "SELECT count(*) FROM silver.tracks UNION ALL SELECT count(*) FROM silver.playlists",
    "FROM silver.playlists",
    "DESCRIBE silver.tracks",
    "SHOW ALL TABLES",
    "SUMMARIZE silver.transitions",
    "EXPLAIN SELECT * FROM silver.transitions",
    "-- a comment\nSELECT 'Tiësto' AS dj, 'COPY TO evil.sh' AS just_text, \"update\" FROM (SELECT 1 AS \"update\");",
    "SELECT page_title, body_bytes FROM bronze.raw_scrape_data ORDER BY page_title",
]


@pytest.mark.parametrize("query", READ_ONLY_OK, ids=[q[:40] for q in READ_ONLY_OK])
def test_read_only_queries_still_work(lake, work, query):
    columns, rows = run_query(connect(lake.root), query)
    assert columns and rows


def test_views_read_the_lakehouse(lake, work):
    con = connect(lake.root)
    columns, rows = run_query(con, "SELECT * FROM silver.transitions ORDER BY weight DESC")
    assert columns == ["from_track_id", "to_track_id", "weight", "first_seen_date", "last_seen_date"]
    assert [r[2] for r in rows] == [2, 1]
    counts = table_counts(lake.root)
    assert counts["bronze.raw_scrape_data"] == 2 and counts["silver.playlists"] == 2 and counts["silver.tracks"] == 3
    assert counts["silver.transitions"] == 2 and counts["gold.transition_graph"] == 0
    # pandas results (the gold asset reads the views with .df()) and the monitoring queries still work
    assert len(con.execute("SELECT * FROM silver.transitions").df()) == 2
    for q in sorted((REPO / "sql" / "monitoring").glob("*.sql")):
        run_query(con, q.read_text(encoding="utf-8"))


def test_lakehouse_path_with_a_quote(tmp_path, work):
    lake = make_lake(tmp_path / "dj's lake")
    assert run_query(connect(lake.root), "SELECT count(*) FROM silver.tracks")[1] == [(3,)]


def test_private_spill_directory_goes_with_the_connection(lake, work):
    import gc

    con = connect(lake.root)
    private = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]).parent
    assert private.is_dir() and oct(private.stat().st_mode & 0o777) == "0o700"
    con.close()
    del con
    gc.collect()
    assert not private.exists()
    assert not (work / ".tmp").exists()
