"""The ``songnodes`` console script, run as a user runs it (subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SONGNODES = [sys.executable, "-m", "songnodes_assets.cli"]


def songnodes(*args, stdin: bytes | None = None, env=None, cwd=None):
    return subprocess.run([*SONGNODES, *args], input=stdin, capture_output=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd or REPO)


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "songnodes"
    assert exe.exists()
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "demo" in out.stdout and "parse" in out.stdout and "sql" in out.stdout


def test_parse_prints_one_json_object_per_entry(tmp_path):
    f = tmp_path / "tl.txt"
    f.write_text(";Part 1\n[00] A & B - One (X Remix) [Lab - CAT 1]\n?\n...\n[1:02:30] C feat. D - Two\n"
                 "w/ E - Three\n", encoding="utf-8")
    res = songnodes("parse", str(f))
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.decode().splitlines()]
    required = {"line_no", "position", "section", "cue_raw", "cue_seconds", "artists", "featured", "title", "remixers",
                "version", "label", "catalog_number", "is_identified", "is_mashup", "component_of", "track_id"}
    assert all(required <= set(r) for r in rows)
    first = rows[0]
    assert (first["line_no"], first["section"], first["artists"], first["remixers"], first["label"],
            first["catalog_number"]) == (2, "Part 1", ["A", "B"], ["X"], "Lab", "CAT 1")
    assert rows[1]["is_identified"] is False and rows[1]["track_id"] is None
    assert rows[2]["entry_type"] == "gap"
    mashup = [r for r in rows if r["is_mashup"]]
    assert mashup and all(r["component_of"] == 5 for r in rows if r["entry_type"] == "component")
    assert rows[3]["cue_seconds"] == 3750


def test_parse_reads_stdin():
    res = songnodes("parse", "-", stdin="Tiësto - Adagio For Strings\n".encode())
    assert res.returncode == 0
    assert json.loads(res.stdout)["artists"] == ["Tiësto"]


@pytest.mark.parametrize("payload, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "binary"),
    (("A - " + "x" * 200_000 + "\n").encode(), "line 1 is longer"),
    (bytes(range(128, 256)) * 50, "not UTF-8"),
])
def test_parse_refuses_bad_input_with_a_clear_message(tmp_path, payload, message):
    f = tmp_path / "bad.bin"
    f.write_bytes(payload)
    res = songnodes("parse", str(f))
    assert res.returncode == 2
    assert message in res.stderr.decode() and "Traceback" not in res.stderr.decode()


def test_parse_missing_file_is_a_clear_error():
    res = songnodes("parse", "/nonexistent/tracklist.txt")
    assert res.returncode == 2 and "cannot read" in res.stderr.decode() and b"Traceback" not in res.stderr


def test_sql_on_a_missing_lakehouse_is_a_clear_error(tmp_path):
    env = {"SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "nowhere")}
    res = songnodes("sql", "SELECT count(*) FROM silver.playlists", env=env)
    assert res.returncode == 2 and res.stdout == b"", res
    assert f"no lakehouse at {tmp_path / 'nowhere'}" in res.stderr.decode() and "make demo" in res.stderr.decode()
    res = songnodes("sql", "SELECT 1", "--lakehouse", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "no lakehouse" in res.stderr.decode()


def test_sql_on_an_empty_lakehouse_and_read_only(tmp_path):
    (tmp_path / "lake").mkdir()
    env = {"SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "lake")}
    res = songnodes("sql", "SELECT count(*) AS n FROM silver.playlists", "--format", "json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"n": 0} and "holds no parquet files yet" in res.stderr.decode()
    for bad in ("COPY (SELECT 1) TO '/tmp/x.csv'", "CREATE TABLE t AS SELECT 1", "SELECT 1; DROP VIEW silver.tracks",
                "ATTACH '/tmp/evil.db'"):
        res = songnodes("sql", bad, env=env)
        assert res.returncode == 2 and b"Traceback" not in res.stderr, bad
    res = songnodes("sql", "SELECT * FROM no_such_table", env=env)
    assert res.returncode == 2 and "query failed" in res.stderr.decode()


def test_sql_from_another_directory_finds_the_checkouts_demo_lakehouse(tmp_path):
    """Run outside the repository with nothing configured: the checkout's demo lakehouse is used and named."""
    if not (REPO / ".songnodes" / "lakehouse").is_dir() or not (REPO / ".songnodes" / "dagster_home").is_dir():
        (REPO / ".songnodes" / "lakehouse").mkdir(parents=True, exist_ok=True)
        (REPO / ".songnodes" / "dagster_home").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONGNODES_")}
    res = subprocess.run([*SONGNODES, "sql", "SELECT 1 AS one", "--format", "csv"], capture_output=True, text=True,
                         timeout=120, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["one", "1"]
    assert f"using the checkout's demo lakehouse {REPO / '.songnodes' / 'lakehouse'}" in res.stderr


def test_parse_output_is_every_entry_field_as_before_on_the_corpus(corpus):
    """The CLI writes each entry's own fields with one shallow encoder; the rows equal the full dataclass
    conversion (dataclasses.asdict) the CLI used to make, byte for byte, on every real tracklist file."""
    import dataclasses

    from songnodes_assets.lib.parsing.tracklist import parse_tracklist

    files = sorted((corpus / "mixesdb").rglob("*.txt")) + sorted((corpus / "mixesdb").rglob("*.wiki"))
    assert len(files) >= 10
    for f in files:
        res = songnodes("parse", str(f))
        assert res.returncode == 0, (f, res.stderr)
        lines = f.read_bytes().decode("utf-8-sig").splitlines()
        expected = "".join(json.dumps(dataclasses.asdict(e), ensure_ascii=False) + "\n" for e in parse_tracklist(lines))
        assert res.stdout.decode() == expected, f


@pytest.mark.parametrize("date", ["2024-13-01", "2999-01-01", " 2024-05-01", "2023-12-31", "2024-5-1", "today"])
def test_demo_refuses_a_date_that_is_not_a_partition_before_fetching(tmp_path, date):
    res = songnodes("demo", "--home", str(tmp_path / "home"), "--date", date, env={"DAGSTER_HOME": ""}, cwd=tmp_path)
    assert res.returncode == 1 and "not a scrape date partition" in res.stderr.decode(), res
    assert not (tmp_path / "home" / "lakehouse").exists()  # nothing fetched, nothing written
