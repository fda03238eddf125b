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


def songnodes_at_once(calls: list[tuple], env=None, cwd=None) -> list[subprocess.CompletedProcess]:
    """``songnodes(*args)`` for each args of ``calls``, the processes started together (independent commands)."""
    procs = [subprocess.Popen([*SONGNODES, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, **(env or {})}, cwd=cwd or REPO) for args in calls]
    results = []
    for args, proc in zip(calls, procs):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess([*SONGNODES, *args], proc.returncode, out, err))
    return results


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
    bads = ("COPY (SELECT 1) TO '/tmp/x.csv'", "CREATE TABLE t AS SELECT 1", "SELECT 1; DROP VIEW silver.tracks",
            "ATTACH '/tmp/evil.db'")
    res, *refused, missing = songnodes_at_once(  # each its own process, all started together
        [("sql", "SELECT count(*) AS n FROM silver.playlists", "--format", "json"), *(("sql", bad) for bad in bads),
         ("sql", "SELECT * FROM no_such_table")], env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"n": 0} and "holds no parquet files yet" in res.stderr.decode()
    for bad, res in zip(bads, refused, strict=True):
        assert res.returncode == 2 and b"Traceback" not in res.stderr, bad
    res = missing
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


CONSOLE_SCRIPT = Path(sys.executable).parent / "songnodes"

# Lines meant to trip an encoder: non-ASCII, emoji (astral, ZWJ sequences), right-to-left and zero-width marks,
# control characters, quotes and backslashes, JSON-looking text, a NUL past the first 64 KiB (the binary check
# looks only there), overlong lines, cue and position extremes. Written as bytes with a few undecodable ones
# (an invalid byte, a CESU-8 surrogate): the reader replaces them with U+FFFD, so it never hands the parser a
# lone surrogate.
HOSTILE = [
    "Tiësto - Adagio For Strings (Ünïcødé Remix) [Blackhole - BHD 001]",
    "Björk – Jóga (Howie B Remix)",
    "DJ 🎵🔥 - Emoji 👩‍👩‍👧 Track (𝔸𝕣𝕥 Remix)",
    "坂本龍一 - 戦場のメリークリスマス",
    "\u202eCiteh Ladder - Right To Left\u200f",
    "A\u200b - B\u200d\ufeff",
    "[01] A\x01\x02\x1f\x7f - B\x1b[31m red\x1b[0m\tTab",
    'A "Quoted" Artist - Title \\ with \\\\ backslashes and "quotes" \\"',
    '[02:00] {"line_no": 1} - },{"line_no":2} [Label "X" - CAT\\1]',
    "[1:02:30] C feat. D & E - Two (F Remix) w/ G",
    "w/ H - Three \\u0000 (not an escape)",
    "+ I - Four 🎧",
    ";Part 2 — 🎧 b2b \"Quoted\"",
    "== Heading with \\ and \" ==",
    "?", "ID - ID", "Artist - ID", "...", "   ", "",
    "[99999999999999999999] Huge Cue - Track", "[999:59] Long Cue - Track", "999. Position - Track",
    "A - " + "x" * 2500,
    "A - " + "é" * 1990,
    "NUL\x00 Artist - Title\x00",
]


def _same(got, want) -> bool:
    """Equal and of the same types all the way down (json's True == 1 and 1 == 1.0 do not pass)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return list(got) == list(want) and all(_same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want))
    return got == want


def _assert_parse_matches_the_library(path: Path, env: dict[str, str] | None = None):
    """`songnodes parse PATH` (the console script) against parse_tracklist on the lines the CLI's reader
    yields: one line per entry, each valid UTF-8 JSON decoding to exactly {field: getattr(entry, field)}.
    The library runs in this process (the compiled parser when built); env can switch the CLI's build."""
    from songnodes_assets.cli import _read_input
    from songnodes_assets.lib.parsing.tracklist import entry_field_names, parse_tracklist

    res = subprocess.run([str(CONSOLE_SCRIPT), "parse", str(path)], capture_output=True, timeout=120,
                         env={**os.environ, **(env or {})})
    assert res.returncode == 0 and res.stderr == b"", (path, res.stderr)
    assert res.stdout.endswith(b"\n") or res.stdout == b""
    rows = [json.loads(line.decode("utf-8")) for line in res.stdout.split(b"\n")[:-1]]  # strict UTF-8
    lines, _ = _read_input(str(path))
    fields = entry_field_names()
    expected = [{f: getattr(e, f) for f in fields} for e in parse_tracklist(lines)]
    assert len(rows) == len(expected), path
    for got, want in zip(rows, expected):
        assert _same(got, want), (path, got, want)
    return lines, rows


def test_parse_output_is_every_entry_field_on_the_corpus(corpus):
    """Each real tracklist file: the CLI's JSON lines decode to the library's entries, field for field."""
    files = sorted((corpus / "mixesdb").rglob("*.txt")) + sorted((corpus / "mixesdb").rglob("*.wiki"))
    assert len(files) >= 10
    for f in files:
        _assert_parse_matches_the_library(f)


@pytest.mark.parametrize("build", ["default", "0"])
def test_parse_output_survives_hostile_lines(corpus, tmp_path, build):
    """Real corpus lines (repeated past 64 KiB) then hostile ones, in one file: same values, count and order;
    with the CLI on its default parser build and on the pure-Python one (SONGNODES_COMPILED_PARSER=0)."""
    files = sorted((corpus / "mixesdb").rglob("*.txt")) + sorted((corpus / "mixesdb").rglob("*.wiki"))
    real = b"\n".join(f.read_bytes().removeprefix(b"\xef\xbb\xbf") for f in files)
    real = b"\n".join([real] * (65536 // len(real) + 1))  # the NUL line lands past the binary check
    assert len(real) > 65536
    hostile = "\n".join(HOSTILE).encode("utf-8") + b"\nBad \xff Byte - Title \xed\xa0\x80\n"
    path = tmp_path / "hostile.txt"
    path.write_bytes(real + b"\n" + hostile + real[:2000])
    lines, rows = _assert_parse_matches_the_library(path, {} if build == "default" else
                                                    {"SONGNODES_COMPILED_PARSER": build})
    assert not any(0xD800 <= ord(c) <= 0xDFFF for line in lines for c in line)  # the reader yields none
    assert "Bad \ufffd Byte - Title \ufffd\ufffd\ufffd" in lines
    raw = [r["raw_line"] for r in rows]  # the parser drops control and zero-width characters
    assert any("NUL Artist" in r["artists"] for r in rows) and any("🎵🔥" in x and "𝔸𝕣𝕥" in x for x in raw)
    assert any('\\\\ backslashes and "quotes" \\"' in x for x in raw)
    assert any(r["artists"] == ["Tiësto"] and r["label"] == "Blackhole" for r in rows)


def test_parse_output_is_compact_utf8(tmp_path):
    """The documented format: compact separators, non-ASCII written as UTF-8, not \\u escapes."""
    f = tmp_path / "tl.txt"
    f.write_text("Tiësto - Adagio 🎵\n", encoding="utf-8")
    res = subprocess.run([str(CONSOLE_SCRIPT), "parse", str(f)], capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(b'{"line_no":1,"position":1,') and "Tiësto".encode() in res.stdout
    assert res.stdout.count(b"\n") == 1 and b"\\u" not in res.stdout


def test_parse_values_orjson_refuses_are_written_escaped(tmp_path, monkeypatch, capsysbinary):
    """A value orjson cannot encode (a lone surrogate, an int past 64 bits; the reader produces neither, a
    parser change might) does not crash the command: its row is written by json, ASCII-escaped, and decodes
    to the same value. An Entry subclass's extra fields stay out (the output is the parser's Entry)."""
    import dataclasses
    import gc

    from songnodes_assets import cli
    from songnodes_assets.lib.parsing import tracklist
    from songnodes_assets.lib.parsing.tracklist import Entry, entry_field_names

    @dataclasses.dataclass
    class EntryPlus(Entry):
        extra: int = 0

    base = dict(position=1, section=None, section_index=0, entry_type="track", outcome="identified",
                raw_line="A - B", cue_raw=None, cue_seconds=None, cue_valid=None, artists=["A"], title="B")
    entries = [Entry(line_no=1, **base), Entry(line_no=2, **{**base, "title": "lone \ud800 surrogate"}),
               Entry(line_no=3, **{**base, "cue_seconds": 2 ** 70}), EntryPlus(line_no=4, **base, extra=7),
               Entry(line_no=5, **{**base, "artists": ["Tiësto 🎵"]})]
    monkeypatch.setattr(tracklist, "parse_tracklist", lambda lines: entries)
    f = tmp_path / "tl.txt"
    f.write_text("A - B\n", encoding="utf-8")
    assert cli.main(["parse", str(f)]) == 0
    assert gc.isenabled()  # the command turns the cyclic GC off only while it runs
    out = capsysbinary.readouterr().out
    rows = [json.loads(line.decode("utf-8")) for line in out.split(b"\n")[:-1]]
    fields = entry_field_names()
    assert [list(r) for r in rows] == [list(fields)] * len(entries)
    for got, e in zip(rows, entries):
        assert _same(got, {f: getattr(e, f) for f in fields}), got
    assert b"\\ud800" in out and str(2 ** 70).encode() in out and "Tiësto 🎵".encode() in out


def test_parse_batch_split_is_checked(tmp_path, monkeypatch, capsysbinary):
    """The fast path encodes a batch of entries in one call and splits it where one entry's object ends; a
    value that would hold the same bytes (a nested object, which no parser field holds today) is caught by
    the count and the batch written row by row, with the same lines."""
    import dataclasses

    from songnodes_assets import cli
    from songnodes_assets.lib.parsing import tracklist
    from songnodes_assets.lib.parsing.tracklist import entry_field_names

    fields = entry_field_names()
    Loose = dataclasses.make_dataclass("Loose", fields)  # an Entry look-alike that type-checks nothing
    plain = {f: None for f in fields}
    entries = [Loose(**{**plain, "line_no": 1, "artists": [{"a": 1}, {"line_no": 2}]}),
               Loose(**{**plain, "line_no": 2}), Loose(**{**plain, "line_no": 3, "title": '},{"line_no":'})]
    monkeypatch.setattr(tracklist, "Entry", Loose)
    monkeypatch.setattr(tracklist, "parse_tracklist", lambda lines: entries)
    f = tmp_path / "tl.txt"
    f.write_text("A - B\n", encoding="utf-8")
    assert cli.main(["parse", str(f)]) == 0
    out = capsysbinary.readouterr().out
    assert [json.loads(x) for x in out.split(b"\n")[:-1]] == [dataclasses.asdict(e) for e in entries]
    monkeypatch.setattr(tracklist, "parse_tracklist", lambda lines: entries[1:])  # the fast path: split
    assert cli.main(["parse", str(f)]) == 0
    out = capsysbinary.readouterr().out
    assert [json.loads(x) for x in out.split(b"\n")[:-1]] == [dataclasses.asdict(e) for e in entries[1:]]


def test_parse_a_value_json_cannot_hold_is_a_clear_error_and_text_stdout_works(tmp_path, monkeypatch, capsys):
    """In process: a value no JSON encoder takes (a set) stops with the line named, exit 2, no traceback; a
    stdout without a byte buffer (io.StringIO) gets the same lines as text."""
    import io
    import types

    from songnodes_assets import cli
    from songnodes_assets.lib.parsing import tracklist
    from songnodes_assets.lib.parsing.tracklist import entry_field_names

    f = tmp_path / "tl.txt"
    f.write_text("Tiësto - Adagio\n", encoding="utf-8")
    text = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    assert cli.main(["parse", str(f)]) == 0
    assert json.loads(text.getvalue())["artists"] == ["Tiësto"] and text.getvalue().count("\n") == 1
    monkeypatch.undo()

    bad = types.SimpleNamespace(**{f: None for f in entry_field_names()})  # not an Entry: fields read one by one
    bad.line_no, bad.artists = 3, {"A"}
    monkeypatch.setattr(tracklist, "parse_tracklist", lambda lines: [bad])
    assert cli.main(["parse", str(f)]) == 2
    err = capsys.readouterr().err
    assert "songnodes parse: error: line 3: the entry holds a value JSON cannot write" in err, err


BAD_DATES = ["2024-13-01", "2999-01-01", " 2024-05-01", "2023-12-31", "2024-5-1", "today"]


@pytest.fixture(scope="module")
def refused_demos(tmp_path_factory):
    """``songnodes demo --date D`` for every bad date, each in a folder of its own, the processes started together:
    date -> (result, folder)."""
    folders = [tmp_path_factory.mktemp("demo_date") for _ in BAD_DATES]

    def env(folder):  # what conftest's per-test isolation would give (it does not apply to a module fixture)
        keep = ("SONGNODES_CORPUS", "SONGNODES_HYPOTHESIS_EXAMPLES")
        out = {k: v for k, v in os.environ.items() if not k.startswith("SONGNODES_") or k in keep}
        out |= {f"SONGNODES_{name}_BASE_URL": "http://127.0.0.1:9" for name in
                ("MIXESDB", "MUSICBRAINZ", "SPOTIFY", "LASTFM", "DISCOGS", "GETSONGBPM", "ACOUSTICBRAINZ")}
        return out | {"SONGNODES_SPOTIFY_AUTH_URL": "http://127.0.0.1:9/api/token",
                      "SONGNODES_CACHE_DIR": str(folder / "api_cache"), "DAGSTER_HOME": ""}

    procs = [subprocess.Popen([*SONGNODES, "demo", "--home", str(folder / "home"), "--date", date],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder, env=env(folder))
             for date, folder in zip(BAD_DATES, folders)]
    out = {}
    for date, folder, proc in zip(BAD_DATES, folders, procs):
        stdout, stderr = proc.communicate(timeout=120)
        out[date] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), folder)
    return out


@pytest.mark.parametrize("date", BAD_DATES)
def test_demo_refuses_a_date_that_is_not_a_partition_before_fetching(refused_demos, date):
    res, folder = refused_demos[date]
    assert res.returncode == 1 and "not a scrape date partition" in res.stderr.decode(), res
    assert not (folder / "home" / "lakehouse").exists()  # nothing fetched, nothing written
