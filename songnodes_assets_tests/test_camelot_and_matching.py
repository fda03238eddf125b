"""Camelot wheel (all 24 keys) and candidate matching (a remix never matches the original)."""

import pytest

from songnodes_assets.lib.camelot import camelot, parse_key, spotify_key
from songnodes_assets.lib.matching import Candidate, TrackQuery, best_match, normalise_candidate_title, score

# The Camelot wheel as published (Mixed In Key): major keys are B, minor keys A.
WHEEL = {
    "C": "8B", "Db": "3B", "D": "10B", "Eb": "5B", "E": "12B", "F": "7B", "F#": "2B", "G": "9B", "Ab": "4B",
    "A": "11B", "Bb": "6B", "B": "1B",
    "Am": "8A", "Bbm": "3A", "Bm": "10A", "Cm": "5A", "C#m": "12A", "Dm": "7A", "Ebm": "2A", "Em": "9A", "Fm": "4A",
    "F#m": "11A", "Gm": "6A", "G#m": "1A",
}


@pytest.mark.parametrize("name, code", sorted(WHEEL.items()))
def test_all_24_camelot_codes(name, code):
    pc, mode = parse_key(name)
    assert camelot(pc, mode) == code


def test_a_minor_is_8a_not_1a():
    assert camelot(9, "minor") == "8A"


@pytest.mark.parametrize("text, expected", [
    ("G♯m", (8, "minor")), ("F#m", (6, "minor")), ("Bb", (10, "major")), ("A minor", (9, "minor")),
    ("C major", (0, "major")), ("6m", (8, "minor")), ("1d", (0, "major")), ("1m", (9, "minor")), ("m", (None, None)),
    ("", (None, None)), ("H", (None, None)),
])
def test_parse_key_notations(text, expected):
    assert parse_key(text) == expected


def test_acousticbrainz_key_with_scale():
    assert parse_key("D", "major") == (2, "major") and parse_key("F#", "minor") == (6, "minor")


def test_spotify_key_and_mode():
    assert spotify_key(9, 0) == (9, "minor") and spotify_key(0, 1) == (0, "major")
    assert spotify_key(-1, 1) == (None, None) and spotify_key(3, None) == (None, None)


# ---- matching -------------------------------------------------------------------------------------
ORIGINAL = TrackQuery("t1", ["Moderat"], "Copy Copy")
REMIX = TrackQuery("t2", ["Moderat"], "Copy Copy", remixers=["LOGIC1000", "Big Ever"])


@pytest.mark.parametrize("cand_title", ["Copy Copy (LOGIC1000 & Big Ever Remix)", "Copy Copy - LOGIC1000 & Big Ever Remix",
                                        "Copy Copy (Someone Remix)", "Copy Copy (VIP Mix)", "Copy Copy (Dub Mix)"])
def test_a_remix_never_matches_the_original(cand_title):
    m = score(ORIGINAL, Candidate("x", ["Moderat"], cand_title))
    assert m.tier == "none" and "mismatch" in m.reason


@pytest.mark.parametrize("cand_title", ["Copy Copy", "Copy Copy (Original Mix)", "Copy Copy (Someone Remix)"])
def test_the_original_never_matches_a_remix(cand_title):
    assert score(REMIX, Candidate("x", ["Moderat"], cand_title)).tier == "none"


def test_the_right_remix_matches():
    m = best_match(REMIX, [Candidate("orig", ["Moderat"], "Copy Copy"),
                           Candidate("rmx", ["Moderat"], "Copy Copy (LOGIC1000 & Big Ever Remix)")])
    assert m.candidate.source_id == "rmx" and m.tier == "strong"


def test_version_words_do_not_block_a_match():
    m = score(ORIGINAL, Candidate("x", ["Moderat"], "Copy Copy - Extended Mix"))
    assert m.tier == "strong"


def test_top_result_is_not_taken_blindly():
    q = TrackQuery("t", ["Bicep"], "Glue")
    m = best_match(q, [Candidate("a", ["Glue Gun"], "Bicep"), Candidate("b", ["Someone Else"], "Glue")])
    assert m.candidate is None and m.tier in ("weak", "none")


def test_duration_and_isrc_weigh_in():
    q = TrackQuery("t", ["Bicep"], "Glue", duration_ms=269_000, isrc="GBCFB1700586")
    near = score(q, Candidate("a", ["Bicep"], "Glue", duration_ms=272_000))
    far = score(q, Candidate("b", ["Bicep"], "Glue", duration_ms=420_000))
    assert near.score > far.score and far.tier != "strong"
    fuzzy = score(q, Candidate("c", ["Bicep"], "Glue Song", isrc="GBCFB1700586"))
    assert fuzzy.score > score(q, Candidate("d", ["Bicep"], "Glue Song")).score


def test_multi_artist_credit_as_one_string():
    q = TrackQuery("t", ["Tiësto", "Ava Max"], "The Motto")
    assert score(q, Candidate("x", ["Tiësto & Ava Max"], "The Motto")).tier == "strong"
    assert score(q, Candidate("x", ["Ava Max", "Tiesto"], "The Motto")).tier == "strong"


def test_candidate_title_normalisation():
    assert normalise_candidate_title("Titanium - David Guetta Remix") == ("Titanium", ["David Guetta"], [])
    assert normalise_candidate_title("Adagio For Strings - Remastered 2011")[1:] == ([], [])
