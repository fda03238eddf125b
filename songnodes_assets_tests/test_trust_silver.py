"""Trust in silver: page identity across URLs, no self-loops, quarantine instead of stalling, contract on read."""

from __future__ import annotations


import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.page_identity import canonical_1001_key, canonical_wiki_title, redirect_target
from songnodes_assets.lib.quarantine import Thresholds
from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_TRACKS, ContractViolation
from songnodes_assets.lib.silver_build import build_silver, build_silver_streamed

from .helpers import bronze_frame, wiki_page

DATE = "2024-05-01"
LINES = ["# Trevino - Sombre Tones", "# Surgeon - Floorshow", "# Regis - Blood Witness", "# Function - Voiceprint"]
TITLE = "2024-01-01 - Some DJ - Show"


def _with_url(frame: pd.DataFrame, url: str, title: str | None = None, hours: int = 0) -> pd.DataFrame:
    out = frame.copy()
    out["url"] = url
    out["final_url"] = url
    if title is not None:
        out["page_title"] = title
    out["fetched_at"] = out["fetched_at"] + pd.Timedelta(hours=hours)
    return out


@pytest.mark.parametrize("other_url, other_title", [
    ("http://127.0.0.1:40001/w/2024-01-01_-_Some_DJ_-_Show?action=raw", None),          # another port
    ("https://www.mixesdb.com/w/2024-01-01_-_Some_DJ_-_Show?action=raw", None),          # another base URL
    ("http://127.0.0.1/w/2024-01-01%20-%20Some%20DJ%20-%20Show?action=raw", "2024-01-01 - Some  DJ - Show"),  # encoding
    ("http://127.0.0.1/w/index.php?title=2024-01-01_-_Some_DJ_-_Show&action=raw", "2024-01-01_-_Some_DJ_-_Show"),
])
def test_the_same_mix_under_two_urls_is_one_playlist_newest_fetch_wins(other_url, other_title):
    one = bronze_frame({TITLE: wiki_page(LINES)})
    newer_text = wiki_page(LINES + ["# Oscar Mulero - Horses"])
    two = _with_url(bronze_frame({TITLE: newer_text}), other_url, other_title, hours=1)
    single = build_silver(one, DATE)
    both = build_silver(pd.concat([one, two], ignore_index=True), DATE)
    assert len(both.playlists) == 1 and both.stats["duplicate_fetches"] == 1
    assert list(both.playlists["playlist_id"]) == list(single.playlists["playlist_id"])
    assert both.playlists.iloc[0]["url"] == other_url  # the newest fetch wins
    assert len(both.playlist_tracks) == 5 and len(both.transitions) == 4
    assert not (both.transitions["from_track_id"] == both.transitions["to_track_id"]).any()


def test_html_and_raw_fetch_of_one_page_are_one_playlist():
    raw = bronze_frame({TITLE: wiki_page(LINES)})
    html = ("<html><body><h1 id='firstHeading'>" + TITLE + "</h1><h2><span id='Tracklist'>Tracklist</span></h2><ol>"
            + "".join(f"<li>{line[2:]}</li>" for line in LINES) + "</ol></body></html>")
    page = _with_url(bronze_frame({TITLE: html}), "http://127.0.0.1/w/2024-01-01_-_Some_DJ_-_Show", hours=1)
    page["content_type"] = "text/html; charset=UTF-8"
    out = build_silver(pd.concat([raw, page], ignore_index=True), DATE)
    assert len(out.playlists) == 1 and len(out.playlist_tracks) == 4 and len(out.transitions) == 3


def test_canonical_titles_and_keys():
    assert canonical_wiki_title("2024-01-01_-_a%20b__c") == "2024-01-01 - a b c"
    assert canonical_wiki_title("  lower case ") == "Lower case"
    assert redirect_target("#REDIRECT [[2024-01-01 - Real Title|x]]") == "2024-01-01 - Real Title"
    assert redirect_target("#redirect: [[a_b]]") == "A b"
    assert redirect_target("== Tracklist ==\n# A - B") is None
    assert canonical_1001_key("https://www.1001tracklists.com/tracklist/2abc1/dj-x-2024-01-01.html") == "2abc1"
    assert canonical_1001_key("http://127.0.0.1:9/tracklist/2ABC1/renamed-slug.html?x=1") == "2abc1"


def test_redirect_page_is_a_notice_not_a_playlist():
    out = build_silver(bronze_frame({"Old Title": "#REDIRECT [[2024-01-01 - Some DJ - Show]]",
                                     TITLE: wiki_page(LINES)}), DATE)
    assert len(out.playlists) == 1
    assert list(out.problems["problem"]) == ["redirect"] and out.stats["bad_pages"] == 0


def test_ten_thousand_identical_lines_give_no_self_loop():
    out = build_silver(bronze_frame({TITLE: wiki_page(["# A - Same"] * 10_000 + ["# B - Next"])}), DATE,
                       thresholds=Thresholds(max_lines_per_page=20_000))
    assert len(out.transitions) == 1  # A -> B once; no A -> A
    assert out.stats["repeated_lines"] == 9_999
    notes = out.playlist_tracks["note"].dropna()
    assert notes.str.contains("repeat of the previous entry").sum() == 9_999


def test_repeat_across_a_section_boundary_is_not_a_repeat():
    out = build_silver(bronze_frame({TITLE: wiki_page(["# A - One", ";Part 2", "# A - One", "# B - Two"])}), DATE)
    assert out.stats["repeated_lines"] == 0 and len(out.transitions) == 1


# lines that broke the old blocking check no_label_in_titles (the example and a fuzz's finds)
POISON = ["# A - (Label] (with Y)", "# 12. &  - (Label](with Y)(Label]{{t}}", "# :(Label] - (Label](with Y)''"]


@pytest.mark.parametrize("poison", POISON)
def test_one_poisoned_line_is_quarantined_and_breaks_the_chain(poison):
    lines = ["# Trevino - Sombre Tones", poison, "# Surgeon - Floorshow"] + LINES[2:]
    out = build_silver(bronze_frame({TITLE: wiki_page(lines)}), DATE)
    bad = out.playlist_tracks[out.playlist_tracks["entry_type"] == "quarantined"]
    assert len(bad) >= 1 and bad["track_id"].isna().all() and not bad["is_identified"].any()
    assert set(out.problems["problem"]) <= {"label_in_title", "cue_or_position_in_artist"}
    assert out.problems.iloc[0]["raw_line"] == poison and out.problems.iloc[0]["line_no"] == 4
    bad_ids = set(bad["line_no"])
    edge_lines = set(out.transitions["from_line_no"]) | set(out.transitions["to_line_no"])
    assert not bad_ids & edge_lines  # no edge touches the quarantined line
    assert len(out.tracks) == 4 and out.stats["quarantined_lines"] == 1


def test_a_cue_marker_in_an_artist_is_a_line_problem():
    from songnodes_assets.lib.parsing.tracklist import Entry
    from songnodes_assets.lib.quarantine import line_problem, quarantine

    e = Entry(line_no=3, position=1, section=None, section_index=0, entry_type="track", outcome="identified",
              raw_line="[7?] W - X", cue_raw=None, cue_seconds=None, cue_valid=None, artists=["[7?] W"], title="X",
              is_identified=True, track_id="t1")
    assert line_problem(e)[0] == "cue_or_position_in_artist"
    assert len(quarantine([e])) == 1 and e.track_id is None and e.entry_type == "quarantined"


def test_line_cap_keeps_the_first_lines_and_says_so():
    out = build_silver(bronze_frame({TITLE: wiki_page([f"# A{i} - T{i}" for i in range(50)])}), DATE,
                       thresholds=Thresholds(max_lines_per_page=20))
    assert out.playlists.iloc[0]["n_entries"] == 20
    (cap,) = out.problems.itertuples()
    assert cap.problem == "line_cap" and "50 tracklist lines" in cap.detail and out.stats["bad_pages"] == 0


def test_streamed_build_equals_in_memory_build(tmp_path):
    lake = Lakehouse(tmp_path)
    one = bronze_frame({TITLE: wiki_page(LINES), "2024-01-02 - Other - Mix": wiki_page(LINES[::-1])})
    two = _with_url(bronze_frame({TITLE: wiki_page(LINES[:3])}), "http://127.0.0.1:9/w/2024-01-01_-_Some_DJ_-_Show",
                    hours=2)
    lake.write(BRONZE_RAW, one, DATE, file_name="run-a.parquet")
    lake.write(BRONZE_RAW, two, DATE, file_name="run-b.parquet")
    streamed = build_silver_streamed(lake, DATE)
    memory = build_silver(pd.concat([one, two], ignore_index=True), DATE)
    for name in ("playlists", "playlist_tracks", "tracks", "transitions", "problems"):
        pd.testing.assert_frame_equal(getattr(streamed, name), getattr(memory, name))
    assert streamed.stats == memory.stats and streamed.stats["duplicate_fetches"] == 1


def test_a_planted_file_of_wrong_types_is_named_and_refused(tmp_path):
    lake = Lakehouse(tmp_path)
    good = build_silver(bronze_frame({TITLE: wiki_page(LINES)}), DATE)
    lake.write(SILVER_TRACKS, good.tracks, DATE)
    evil = pa.table({"track_id": pa.array([1, 2]), "title": pa.array(["PWNED", "x"])})
    planted = lake.partition_dir(SILVER_TRACKS, DATE) / "evil.parquet"
    pq.write_table(evil, planted)
    with pytest.raises(ContractViolation, match="evil.parquet"):
        lake.read(SILVER_TRACKS, DATE)
    # same name as the real file, wrong types
    pq.write_table(evil, lake.partition_dir(SILVER_TRACKS, DATE) / "part.parquet")
    planted.unlink()
    with pytest.raises(ContractViolation, match="track_id.*int64"):
        lake.read(SILVER_TRACKS, DATE)


def test_views_refuse_a_planted_file_and_name_it(tmp_path, capsys):
    lake = Lakehouse(tmp_path)
    good = build_silver(bronze_frame({TITLE: wiki_page(LINES)}), DATE)
    lake.write(SILVER_TRACKS, good.tracks, DATE)
    pq.write_table(pa.table({"track_id": ["PWNED"], "title": [1]}),
                   lake.partition_dir(SILVER_TRACKS, "2024-05-02") / "part.parquet"
                   if lake.partition_dir(SILVER_TRACKS, "2024-05-02").mkdir(parents=True) is None else None)
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM silver.tracks WHERE title = 'PWNED'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM silver.tracks").fetchone() == (4,)
    assert "2024-05-02" in capsys.readouterr().err
