"""The parser never raises, whatever the text, and its invariants hold on arbitrary lines."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songnodes_assets.lib.contracts import LABEL_IN_TITLE_RE, MARKER_IN_ARTIST_RE
from songnodes_assets.lib.parsing.line import parse_credit
from songnodes_assets.lib.parsing.tracklist import parse_tracklist

PIECES = st.sampled_from(["[", "]", "(", ")", "-", " - ", " – ", "&", ",", " x ", " vs. ", "feat.", "w/ ", "+ ", "?",
                          "ID", "...", ";", "#", ":", "0", "7", "12", "Remix", "Mix", "Edit", "Extended", "Ø",
                          "é", "Label", " ", "'''", "''", "[[", "]]", "{{", "}}", "<list>", "http://x.y/z ",
                          "\t", "Artist", "Title", "\u200b", "\x00", "\ufeff"])
LINE = st.lists(PIECES, max_size=14).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text):
    entries = parse_tracklist(text)
    for e in entries:
        assert isinstance(e.line_no, int)


@settings(max_examples=int(os.environ.get("SONGNODES_HYPOTHESIS_EXAMPLES", 1500)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, max_size=8))
def test_invariants_on_tracklist_shaped_lines(lines):
    entries = parse_tracklist(lines)
    for e in entries:
        for name in e.artists + e.featured + e.remixers:
            assert not MARKER_IN_ARTIST_RE.match(name), (name, e.raw_line)
        if e.is_identified:
            assert e.track_id and e.artists and e.title
        else:
            assert e.track_id is None or e.entry_type == "component" and e.is_identified
        for value in (e.title, e.title_full) if e.outcome != "unparsed" else ():
            if value:
                assert not LABEL_IN_TITLE_RE.search(value), (value, e.raw_line)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_parse_credit_total(text):
    assert parse_credit(text).outcome in {"identified", "placeholder", "gap", "empty", "unparsed"}
