"""Streaming silver changes no output.

The silver build as it was before it streamed (``lib/silver_build.py`` at REFERENCE_COMMIT, read from this
repository's own history and run on today's parser and contracts) and today's build must give the same five
tables, stats and legacy counts on the same bronze: the MixesDB corpus, the 1001tracklists pages, the sample
site, the same mix under other URLs and older fetches, redirects, empty and broken pages, repeated lines,
and imported legacy items. Today's build runs with tiny spill and output batches, so every batch boundary
is crossed, and both through ``build_silver`` (frames in) and ``stream_silver`` (bronze files in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from songnodes_assets.lib import silver_build, silver_spill
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.legacy import to_bronze_rows
from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_TRACKS, SILVER_TRANSITIONS

from .helpers import bronze_frame, wiki_page

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLE = REPO / "songnodes_assets" / "sample_site" / "pages"
REFERENCE_COMMIT = "3d63f99"  # the last build before silver streamed (issue 12)
DATE = "2024-05-01"
TABLES = ("playlists", "playlist_tracks", "tracks", "transitions", "problems")


@pytest.fixture(scope="module")
def reference():
    shown = subprocess.run(["git", "-C", str(REPO), "show", f"{REFERENCE_COMMIT}:songnodes_assets/lib/silver_build.py"],
                           capture_output=True, text=True)
    assert shown.returncode == 0, f"the reference build is read from git history: {shown.stderr.strip()}"
    module = types.ModuleType("silver_build_reference")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(shown.stdout.replace("from .", "from songnodes_assets.lib."), "silver_build_reference", "exec"),
             module.__dict__)
        yield module
    finally:
        sys.modules.pop(module.__name__, None)


def _row(title: str, body: bytes, url: str, content_type: str, hour: int, source: str = "mixesdb") -> dict:
    return {"scrape_date": DATE, "source": source, "record_kind": "page", "url": url, "final_url": url,
            "page_title": title, "status": 200, "content_type": content_type, "headers_json": "{}",
            "fetched_at": dt.datetime(2024, 5, 1, hour, tzinfo=dt.timezone.utc),
            "sha256": hashlib.sha256(body).hexdigest(), "body": body, "body_bytes": len(body), "error_kind": None,
            "error": None, "attempts": 1, "elapsed_ms": 1, "fetcher_version": "test", "run_id": "test-run"}


def _legacy_rows() -> pd.DataFrame:
    at = dt.datetime(2024, 5, 1, 9, tzinfo=dt.timezone.utc)
    mix = "2024-03-01 - Ben Klock @ Berghain"
    lines = ["Trevino - Sombre Tones", "Emmanuel Top - Revision 02", "Emmanuel Top - Revision 02", "Surgeon - Floorshow",
             "Unknown - ID"]
    old = [{"scrape_id": "s1", "source": "mixesdb", "scrape_type": "enhancedsetlist", "source_url": None,
            "raw_data": {"setlist_name": mix, "dj_artist_name": "Ben Klock", "set_date": "2024-03-01"}, "scraped_at": at}]
    for i, line in enumerate(lines):
        meta = {"original_string": line, "extraction_source": "mixesdb", "mix_context": mix, "is_identified": True}
        old.append({"scrape_id": f"t{i}", "source": "mixesdb", "scrape_type": "enhancedtrack", "source_url": None,
                    "raw_data": {"track_name": line.split(" - ")[-1], "source_context": line, "position_in_source": i + 1,
                                 "metadata": json.dumps(meta)}, "scraped_at": at})
    for i, line in enumerate(["Solo Artist - Lone Track", "Solo Artist - Lone Track", "Other - [Label] Tail"]):
        old.append({"scrape_id": f"u{i}", "source": "mixesdb", "scrape_type": "enhancedtrack", "source_url": None,
                    "raw_data": {"track_name": line.split(" - ")[-1], "source_context": line}, "scraped_at": at})
    return BRONZE_RAW.conform(to_bronze_rows(old, DATE, "r"))


def _bronze() -> pd.DataFrame:
    rows = []
    wiki = sorted((CORPUS / "mixesdb" / "wikitext").glob("*.wiki")) + sorted(SAMPLE.glob("*.wiki"))
    for i, f in enumerate(wiki):
        body = f.read_bytes()
        title = f"2024-01-{i + 1:02d} - {f.stem} - Show"
        rows.append(_row(title, body, f"http://127.0.0.1/w/{title.replace(' ', '_')}?action=raw",
                         "text/x-wiki; charset=UTF-8", 10))
        if i % 3 == 0:  # the same mix under another URL, fetched earlier (older loses) or later (newer wins)
            rows.append(_row(title, body[: len(body) // 2], f"https://www.mixesdb.com/w/{title.replace(' ', '_')}?action=raw",
                             "text/x-wiki", 8 if i % 2 else 12))
    for f in sorted((CORPUS / "mixesdb" / "tracklists" / "laceto_reconstructed").glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if ln.startswith(("[", ";", "#")) or " - " in ln]
        lines += lines[-2:]  # a re-pasted pair: a repeat and an A -> B edge again
        body = wiki_page("\n".join(f"# {ln}" if not ln.startswith((";", "#")) else ln for ln in lines)).encode()
        title = f"2023-02-02 - {f.stem} - Mix"
        rows.append(_row(title, body, f"http://127.0.0.1/w/{title.replace(' ', '_')}?action=raw", "text/x-wiki", 11))
    for f in sorted((CORPUS / "1001tracklists").glob("*.html")):
        rows.append(_row(f.stem, f.read_bytes(), f"https://www.1001tracklists.com/tracklist/{len(rows)}x{len(rows)}/{f.stem}.html",
                         "text/html; charset=utf-8", 9, source="1001tracklists"))
    frame = BRONZE_RAW.conform(rows)
    odd = bronze_frame({"Old Title": "#REDIRECT [[2024-01-01 - Some DJ - Show]]",
                        "2024-02-02 - Broken DJ - Empty Show": "== Tracklist ==\n\n<list>\n</list>\n",
                        "2024-02-03 - Cue DJ - Weird": wiki_page(["# [7?] W - X", "# A - B [Label]", "# A - A", "# A - A",
                                                                   "# ...", "# ? - ?", "# C w/ D - E",
                                                                   "# A - (Label] (with Y)",
                                                                   "# 12. &  - (Label](with Y)(Label]{{t}}"])})
    return pd.concat([frame, odd, _legacy_rows()], ignore_index=True)


@pytest.fixture(scope="module")
def bronze():
    return _bronze()


@pytest.fixture
def tiny_batches(monkeypatch):
    monkeypatch.setattr(silver_spill, "FLUSH_ROWS", 7)
    monkeypatch.setattr(silver_build, "BATCH_ROWS", 5)


def _assert_same(new, old):
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), obj=name)
    assert new.stats == old.stats
    assert new.legacy_counts == old.legacy_counts and new.pages_skipped == old.pages_skipped


def test_the_corpus_builds_the_same_silver_as_before_streaming(bronze, reference, tiny_batches):
    old = reference.build_silver(bronze, DATE)
    assert len(old.playlists) > 20 and len(old.transitions) > 200 and len(old.problems) > 3  # a real comparison
    assert old.legacy_counts and (old.playlist_tracks["source"] == "1001tracklists").any()
    _assert_same(silver_build.build_silver(bronze, DATE), old)


def test_the_streamed_build_from_bronze_files_is_the_same(bronze, reference, tiny_batches, tmp_path):
    lake = Lakehouse(tmp_path)
    half = len(bronze) // 2
    lake.write(BRONZE_RAW, bronze.iloc[:half].reset_index(drop=True), DATE, file_name="run-a.parquet")
    lake.write(BRONZE_RAW, bronze.iloc[half:].reset_index(drop=True), DATE, file_name="run-b.parquet")
    _assert_same(silver_build.build_silver_streamed(lake, DATE), reference.build_silver(bronze, DATE))


def test_an_empty_day_is_the_same(reference):
    empty = BRONZE_RAW.conform([])
    _assert_same(silver_build.build_silver(empty, DATE), reference.build_silver(empty, DATE))


def test_tables_written_from_the_stream_read_back_as_the_frames_written_before(bronze, reference, tiny_batches,
                                                                             tmp_path):
    """The asset writes the engine's arrow batches (validated by ``validate_arrow``), no frames: readers must get
    exactly the frames the frame-written files gave."""
    old = reference.build_silver(bronze, DATE)
    before, after = Lakehouse(tmp_path / "before"), Lakehouse(tmp_path / "after")
    after.write(BRONZE_RAW, bronze, DATE, file_name="run-a.parquet")
    streamed = {"playlist_tracks": SILVER_PLAYLIST_TRACKS, "tracks": SILVER_TRACKS, "transitions": SILVER_TRANSITIONS}
    with silver_build.stream_silver(after, DATE) as day:
        for name, spec in streamed.items():
            before.write(spec, getattr(old, name), DATE)
            after.write_batches(spec, getattr(day, name)(), DATE)
        assert all(not v for v in day.violations.values())
    for spec in streamed.values():
        pd.testing.assert_frame_equal(after.read(spec, DATE), before.read(spec, DATE), obj=spec.name)
