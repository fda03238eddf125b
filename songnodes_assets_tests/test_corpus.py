"""The parser on real data from ../shared/corpus (skipped with a reason when the corpus is absent)."""

import csv
import json
import re

import pytest

from songnodes_assets.lib.contracts import LABEL_IN_TITLE_RE, MARKER_IN_ARTIST_RE
from songnodes_assets.lib.parsing.line import parse_credit
from songnodes_assets.lib.parsing.mix_title import parse_mix_title
from songnodes_assets.lib.parsing.mixesdb_page import parse_wikitext
from songnodes_assets.lib.parsing.tracklist import parse_tracklist

BYARTIST_SPLIT = re.compile(r"\s+(?:&|x|vs\.)\s+")


def assert_clean(entries):
    for e in entries:
        for name in e.artists + e.featured + e.remixers:
            assert not MARKER_IN_ARTIST_RE.match(name), (name, e.raw_line)
        if e.outcome != "unparsed":
            for v in (e.title, e.title_full):
                assert not (v and LABEL_IN_TITLE_RE.search(v)), (v, e.raw_line)


def expected_rows(corpus):
    for path in sorted((corpus / "1001tracklists").glob("*.expected_parse.json")):
        for row in json.loads(path.read_text(encoding="utf-8"))["tracks"]:
            yield path.name, row


def test_1001tracklists_expected_artists_and_titles(corpus):
    checked = 0
    for name, row in expected_rows(corpus):
        if row["name"] is None:  # an ID row without schema.org metadata: the visible text is "ID - ID"
            c = parse_credit(row["visible_text"])
            assert c.outcome == "placeholder" and c.track_id is None, row
            continue
        c = parse_credit(row["name"])
        expected_artists = BYARTIST_SPLIT.split(row["byArtist"])
        assert set(c.artists) == set(expected_artists), (name, row["name"], c.artists)
        artist_part, title_part = row["name"].split(" - ", 1)
        assert c.title_full == title_part, (name, row["name"], c.title_full)
        if " ft. " in artist_part:
            assert c.featured == [artist_part.split(" ft. ", 1)[1]]
        assert (c.outcome == "placeholder") == (title_part == "ID"), row["name"]
        checked += 1
    assert checked >= 45


def test_1001tracklists_mashup_row_has_components(corpus):
    rows = [r for _, r in expected_rows(corpus) if r["name"] and " vs. " in r["name"] and r["tracknumber"]]
    assert rows
    for row in rows:
        c = parse_credit(row["name"])
        assert c.is_mashup and len(c.components) == 2, row["name"]


@pytest.mark.parametrize("fname, entries, placeholders, gaps", [
    ("2025-10-16_Hitam_Monument_Podcast_490.wiki", 36, 8, 11),
    ("2025-12-21_Charis_The_Sphere_Chair.wiki", 17, 0, 0),
    ("2025-10-05_dESUS_Apjok_Csaba_Thee_pHactory_042.wiki", 8, 0, 1),
])
def test_mixesdb_wikitext_pages(corpus, fname, entries, placeholders, gaps):
    text = (corpus / "mixesdb" / "wikitext" / fname).read_text(encoding="utf-8")
    page = parse_wikitext(text, fname)
    assert page.has_tracklist_section
    lines = [t for _, t in page.tracklist_lines]
    result = parse_tracklist(lines, first_line_no=page.tracklist_lines[0][0])
    top = [e for e in result if e.component_of is None]
    assert len(top) == entries
    assert sum(e.entry_type == "placeholder" for e in top) == placeholders
    assert sum(e.entry_type == "gap" for e in top) == gaps
    assert_clean(result)
    # line numbers point into the page itself
    page_lines = text.splitlines()
    for e in top:
        assert page_lines[e.line_no - 1].strip() == e.raw_line.strip()


def test_charis_page_details(corpus):
    text = (corpus / "mixesdb" / "wikitext" / "2025-12-21_Charis_The_Sphere_Chair.wiki").read_text(encoding="utf-8")
    page = parse_wikitext(text, "2025-12-21 - Charis - The Sphère Chair")
    assert page.tracklist_status == "complete" and "Dub Techno" in page.categories
    entries = parse_tracklist([t for _, t in page.tracklist_lines])
    by_title = {e.title: e for e in entries}
    assert by_title["Cecile"].label == "Scissor And Thread"  # "(Scissor And Thread]" typo
    assert by_title["Cecile"].featured == ["Eliana Glass"]
    assert by_title["Infinit-1"].label == "Echospace - Detroit"
    assert by_title["Ark Love"].cue_raw == "0?" and by_title["Ark Love"].cue_seconds is None


def test_desus_sections(corpus):
    text = (corpus / "mixesdb" / "wikitext" / "2025-10-05_dESUS_Apjok_Csaba_Thee_pHactory_042.wiki").read_text()
    page = parse_wikitext(text, "x")
    entries = parse_tracklist([t for _, t in page.tracklist_lines])
    assert {e.section for e in entries} == {"dESUS", "Apjok Csaba"}
    assert entries[0].entry_type == "unparsed" and entries[0].title == "Intro"


def _reconstructed(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if not re.match(r"^# (title|url|date|dj|source|status):", ln)]


def test_every_reconstructed_mixesdb_line_parses(corpus):
    files = sorted((corpus / "mixesdb" / "tracklists" / "laceto_reconstructed").glob("*.txt"))
    assert len(files) == 9
    total = 0
    for f in files:
        lines = _reconstructed(f)
        entries = parse_tracklist(lines)
        content = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(";")]
        assert len([e for e in entries if e.component_of is None]) == len(content), f.name
        assert_clean(entries)
        total += len(content)
    assert total > 150


def test_cocorico_matches_third_party_parse(corpus):
    base = corpus / "mixesdb" / "tracklists"
    entries = parse_tracklist(_reconstructed(base / "laceto_reconstructed" / "2006-08-16_Richie_Hawtin_Cocorico_Riccione.txt"))
    with open(base / "laceto_tracklist_csv_parsed_2006-08-16_hawtin_cocorico.csv", encoding="utf-8") as fh:
        expected = list(csv.DictReader(fh))
    assert len(entries) == len(expected)
    for e, row in zip(entries, expected):
        assert e.section == row["part"]
        assert e.cue_raw == row["timestamp"]
        assert " & ".join(e.artists) == row["artist"]
        assert (e.title_full or e.title) == row["title"]


def test_editor_examples_and_descriptions_parse_without_error(corpus):
    base = corpus / "mixesdb" / "tracklists"
    text = (base / "userscripts_Tracklist_Merger_Examples.txt").read_text(encoding="utf-8")
    entries = parse_tracklist(text)
    assert_clean(entries)
    assert any(e.cue_raw == "3?" for e in entries) and any(e.cue_raw == "0??" for e in entries)
    for case in json.loads((base / "soundcloud_descriptions_tracklist_examples.json").read_text(encoding="utf-8")):
        entries = parse_tracklist(case["text"])
        assert_clean(entries)
        if case["expect"] and "first" in case["expect"]:
            first = parse_tracklist([case["expect"]["first"]])[0]
            assert first.is_identified, case["expect"]["first"]
            assert not re.match(r"^\d{1,3}[.)]?\s*-?\s", " & ".join(first.artists) + " ")


def test_mix_titles_from_real_examples(corpus):
    cases = json.loads((corpus / "mixesdb" / "tracklists" / "mixesdb_title_examples.json").read_text(encoding="utf-8"))
    checked = 0
    for case in cases:
        if "expectArtists" not in case:
            continue
        parsed = parse_mix_title(case["expect"])
        assert parsed.djs == case["expectArtists"], case["expect"]
        if case.get("expectEntity"):
            assert case["expectEntity"] in f"{parsed.show or ''} {parsed.venue or ''}", case["expect"]
        checked += 1
    assert checked >= 40
