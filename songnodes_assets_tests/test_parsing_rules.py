"""Every line-shape rule of DESIGN.md section 4, one test (or parametrised case) each."""

import pytest

from songnodes_assets.lib.ids import make_track_id
from songnodes_assets.lib.parsing.line import parse_credit
from songnodes_assets.lib.parsing.tracklist import parse_tracklist
from songnodes_assets.lib.silver_build import build_silver

from .helpers import bronze_frame, wiki_page


def one(line: str):
    entries = parse_tracklist([line])
    assert len(entries) >= 1
    return entries[0]


# ---- cues ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, cue_raw, seconds",
    [
        ("[07] Surgeon - Atol", "07", 7 * 60),  # bare numbers are minutes on MixesDB
        ("[1:02:30] Surgeon - Atol", "1:02:30", 3750),
        ("[0:07] Surgeon - Atol", "0:07", 7),
        ("[000] Surgeon - Atol", "000", 0),
        ("[143] Surgeon - Atol", "143", 143 * 60),
        ("[??] Surgeon - Atol", "??", None),
        ("[0??] Surgeon - Atol", "0??", None),
        ("[3?] Surgeon - Atol", "3?", None),
        ("[4?:??] Surgeon - Atol", "4?:??", None),
        ("# [12:34] Surgeon - Atol", "12:34", 754),
    ],
)
def test_cue_kept_and_never_part_of_artist(line, cue_raw, seconds):
    e = one(line)
    assert e.cue_raw == cue_raw
    assert e.cue_seconds == seconds
    assert e.artists == ["Surgeon"] and e.title == "Atol"


def test_seven_question_w_is_impossible():
    e = one("[7?] W - Something")
    assert e.artists == ["W"] and e.cue_raw == "7?"


@pytest.mark.parametrize("line", ["[019:95] Robert Hood - The Pace", "[9999:99] Audion - Mouth To Mouth"])
def test_impossible_cue_is_kept_raw_but_not_timed(line):
    e = one(line)
    assert e.cue_seconds is None and e.cue_valid is False
    assert not e.artists[0].startswith("[")


# ---- placeholders and gaps ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, artists",
    [("?", []), ("ID - ID", ["ID"]), ("Bicep - ID", ["Bicep"]), ("T.P. Heckmann - ?", ["T.P. Heckmann"]),
     ("ID (Ness Remix)", []), ("? (Ness Remix)", []), ("Roy Davis Jr. - Heart Attack (ID Remix)", ["Roy Davis Jr."]),
     ("Unknown - Unknown", ["Unknown"]), ("? [Unreleased]", [])],
)
def test_placeholders_are_rows_without_track_id(line, artists):
    e = one(line)
    assert e.entry_type == "placeholder"
    assert e.is_identified is False and e.track_id is None
    assert e.artists == artists
    assert e.position == 1


def test_gap_marker():
    entries = parse_tracklist(["A - One", "...", "B - Two", "…", "--"])
    assert [e.entry_type for e in entries] == ["track", "gap", "track", "gap", "gap"]
    assert [e.position for e in entries] == [1, 2, 3, 4, 5]


# ---- featured ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, artists, featured, title",
    [
        ("Bicep feat. Clara La San - Water", ["Bicep"], ["Clara La San"], "Water"),
        ("Four Tet ft. Ellie Goulding - Baby", ["Four Tet"], ["Ellie Goulding"], "Baby"),
        ("Chase & Status featuring Flowdan - Baddadan", ["Chase & Status"], ["Flowdan"], "Baddadan"),
        ("Above & Beyond - Sun & Moon (with Richard Bedford)", ["Above & Beyond"], ["Richard Bedford"], "Sun & Moon"),
        ("Above & Beyond - Sun & Moon (feat. Richard Bedford)", ["Above & Beyond"], ["Richard Bedford"], "Sun & Moon"),
        ("Riton - Rinse & Repeat feat. Kah-Lo", ["Riton"], ["Kah-Lo"], "Rinse & Repeat"),
        ("Qrion Feat. Pinkpirate - Lean Into Light (Dosem Extended Mix)", ["Qrion"], ["Pinkpirate"], "Lean Into Light"),
    ],
)
def test_featured_artists_leave_the_id(line, artists, featured, title):
    e = one(line)
    assert (e.artists, e.featured, e.title) == (artists, featured, title)
    plain = one(f"{' & '.join(artists)} - {title}" + (" (Dosem Extended Mix)" if "Dosem" in line else ""))
    if len(artists) == 1 and "&" not in artists[0]:
        assert e.track_id == plain.track_id


# ---- co-primary artists ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, artists",
    [("Adam Beyer & Chris Avantgarde - Desolate Lands", ["Adam Beyer", "Chris Avantgarde"]),
     ("Adam Beyer, Chris Avantgarde - Desolate Lands", ["Adam Beyer", "Chris Avantgarde"]),
     ("Adam Beyer x Chris Avantgarde - Desolate Lands", ["Adam Beyer", "Chris Avantgarde"]),
     ("Adam Beyer + Chris Avantgarde - Desolate Lands", ["Adam Beyer", "Chris Avantgarde"]),
     ("Linzatti,Grindvik - Light Year", ["Linzatti", "Grindvik"])],
)
def test_co_primary_artists(line, artists):
    e = one(line)
    assert e.artists == artists
    assert e.track_id == one("Chris Avantgarde & Adam Beyer - Desolate Lands").track_id or "Linzatti" in line


@pytest.mark.parametrize(
    "line, artists",
    [("Above & Beyond - Sun & Moon", ["Above & Beyond"]), ("AC/DC - Thunderstruck", ["AC/DC"]),
     ("Fred again.. - Delilah", ["Fred again.."]), ("Earth, Wind & Fire - September", ["Earth, Wind & Fire"]),
     ("Mik&Ale - Read My Lips", ["Mik&Ale"]), ("2000 and One - Tropical Melons", ["2000 and One"]),
     ("Fred again.. & Brian Eno - Cold Summer", ["Fred again..", "Brian Eno"])],
)
def test_names_that_contain_separators_stay_whole(line, artists):
    assert one(line).artists == artists


def test_vs_in_artist_is_a_collaboration_not_a_mashup():
    e = one("Tiësto vs. Dzeko & Torres - Jet Lag")
    assert e.entry_type == "track" and not e.is_mashup
    assert e.artists == ["Tiësto", "Dzeko", "Torres"] and e.title == "Jet Lag"


# ---- mashups -----------------------------------------------------------------------------------
def test_same_line_mashup_has_container_and_components():
    entries = parse_tracklist(["[03] Duck Sauce - Big Bad Wolf vs. Armand Van Helden - Koochy"])
    container, *components = entries
    assert container.entry_type == "mashup" and container.is_mashup and container.component_of is None
    assert [(c.artists, c.title, c.component_of) for c in components] == [
        (["Duck Sauce"], "Big Bad Wolf", 1), (["Armand Van Helden"], "Koochy", 1)]
    assert container.track_id not in {c.track_id for c in components}
    assert components[1].track_id == one("Armand Van Helden - Koochy").track_id


@pytest.mark.parametrize("marker", ["w/", "+"])
def test_continuation_lines_make_the_entry_above_a_mashup(marker):
    entries = parse_tracklist(["A - One", "Daft Punk - One More Time", f"{marker} Cassius - Cassius 1999", "B - Two"])
    tops = [e for e in entries if e.component_of is None]
    assert [e.entry_type for e in tops] == ["track", "mashup", "track"]
    comps = [e for e in entries if e.component_of == 2]
    assert [c.title for c in comps] == ["One More Time", "Cassius 1999"]
    assert [c.line_no for c in comps] == [2, 3]
    assert all(c.position == 2 for c in comps)


def test_edges_use_the_mashup_container():
    page = wiki_page(["# A - One", "# Daft Punk - One More Time", "w/ Cassius - Cassius 1999", "# B - Two"])
    t = build_silver(bronze_frame({"2024-01-01 - X - Y": page}), "2024-05-01")
    container = t.playlist_tracks[t.playlist_tracks["entry_type"] == "mashup"].iloc[0]
    edges = list(zip(t.transitions["from_track_id"], t.transitions["to_track_id"]))
    a = one("A - One").track_id
    b = one("B - Two").track_id
    assert edges == [(a, container["track_id"]), (container["track_id"], b)]


def test_single_line_vs_mashup_with_mashup_credit():
    e = parse_tracklist(["Chico Rose x 71 Digits vs. AC Slater & Curbi - Somebody's Watching Me vs. Navigator "
                         "(Mike Williams Mashup)"])
    assert e[0].is_mashup and e[0].remixers == ["Mike Williams"]
    assert [c.artists for c in e[1:]] == [["Chico Rose", "71 Digits"], ["AC Slater", "Curbi"]]


# ---- remixes and versions --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["Remix", "Edit", "Rework", "Bootleg", "Flip", "VIP", "Dub", "Re-Edit"])
def test_remixers_are_part_of_the_id(kind):
    e = one(f"Moderat - Copy Copy (Logic1000 {kind})")
    assert e.remixers == ["Logic1000"] and e.title == "Copy Copy"
    assert e.track_id != one("Moderat - Copy Copy").track_id


@pytest.mark.parametrize("version", ["Original Mix", "Extended Mix", "Radio Mix", "Club Mix", "Instrumental Mix",
                                     "Radio Edit", "Extended", "Remastered"])
def test_version_attribute_is_a_column_not_part_of_the_id(version):
    e = one(f"Jamie xx - Gosh ({version})")
    assert e.version == version and e.remixers == []
    assert e.track_id == one("Jamie xx - Gosh").track_id


def test_several_remix_groups_and_remixer_lists():
    e = one("Juan Atkins & Moritz Von Oswald - Transport (Carl Craig Remix) (DJ Deep & Roman Poncet Rework)")
    assert e.remixers == ["Carl Craig", "DJ Deep", "Roman Poncet"]


def test_variant_without_remixer_changes_the_id():
    assert one("Regal - Acid Is The Answer (Dub Mix)").track_id != one("Regal - Acid Is The Answer").track_id
    assert one("Tiësto - The Motto (VIP Mix)").track_id != one("Tiësto - The Motto").track_id


# ---- labels ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, label, catno, title",
    [("Trevino - Sombre Tones [Klockworks - KW 20]", "Klockworks", "KW 20", "Sombre Tones"),
     ("The Vectif - Octan [Spectron]", "Spectron", None, "Octan"),
     ("Cv313 - Infinit-1 [Echospace - Detroit]", "Echospace - Detroit", None, "Infinit-1"),
     ("Stanislav Tolkachev - Everything Ends [SEM112]", None, "SEM112", "Everything Ends"),
     ("Missing Channel - Legion Of Hunger [Hardwax Hx-008]", "Hardwax", "Hx-008", "Legion Of Hunger"),
     ("Frank & Tony - Cecile (Scissor And Thread]", "Scissor And Thread", None, "Cecile"),
     ("Kerri Chandler - Rain [Madhouse - KCMH 001", "Madhouse", "KCMH 001", "Rain"),
     ("Ø [Phase] - Binary Opposition (Ben Klock Process) [Token - 20RD]", "Token", "20RD", "Binary Opposition")],
)
def test_label_and_catalog_number_leave_the_title(line, label, catno, title):
    e = one(line)
    assert (e.label, e.catalog_number, e.title) == (label, catno, title)
    assert "[" not in (e.title_full or "") and "]" not in (e.title_full or "")


def test_square_brackets_inside_an_artist_are_kept():
    assert one("Ø [Phase] - Binary Opposition").artists == ["Ø [Phase]"]


# ---- sections ----------------------------------------------------------------------------------
def test_sections_and_no_edge_across_them():
    page = wiki_page([";Amelie Lens", "# A - One", "# B - Two", "", ";Farrago", "# C - Three", "# D - Four"])
    t = build_silver(bronze_frame({"2024-06-01 - Amelie Lens b2b Farrago @ Awakenings": page}), "2024-05-01")
    pt = t.playlist_tracks
    assert list(pt["section"]) == ["Amelie Lens", "Amelie Lens", "Farrago", "Farrago"]
    ids = {r.title: r.track_id for r in pt.itertuples()}
    edges = set(zip(t.transitions["from_track_id"], t.transitions["to_track_id"]))
    assert edges == {(ids["One"], ids["Two"]), (ids["Three"], ids["Four"])}


def test_no_edge_over_placeholder_or_gap():
    page = wiki_page(["A - One", "?", "B - Two", "...", "C - Three", "ID - ID", "D - Four", "E - Five"])
    t = build_silver(bronze_frame({"2024-01-01 - X - Y": page}), "2024-05-01")
    ids = {r.title: r.track_id for r in t.playlist_tracks.itertuples() if isinstance(r.track_id, str)}
    assert set(zip(t.transitions["from_track_id"], t.transitions["to_track_id"])) == {(ids["Four"], ids["Five"])}


# ---- dashes, links -----------------------------------------------------------------------------
@pytest.mark.parametrize("line", ["Roy Davis Jr. – Heart Attack", "Roy Davis Jr. — Heart Attack",
                                  "Roy Davis Jr. -Heart Attack", "Roy Davis Jr.- Heart Attack"])
def test_dash_variants_normalised(line):
    e = one(line)
    assert (e.artists, e.title) == (["Roy Davis Jr."], "Heart Attack")


@pytest.mark.parametrize("line, artists, title", [
    ("Rub-A-Dub Crew - Rub-A-Dub Style", ["Rub-A-Dub Crew"], "Rub-A-Dub Style"),
    ("Jay-Z - 99 Problems", ["Jay-Z"], "99 Problems"),
    ("Riton ft. Kah-Lo - Rinse & Repeat", ["Riton"], "Rinse & Repeat")])
def test_never_split_inside_words(line, artists, title):
    e = one(line)
    assert (e.artists, e.title) == (artists, title)


def test_external_link_wrapping_is_unwrapped():
    e = one("[0:03:00] [https://www.discogs.com/release/712848 Mono Junk - Channel B]")
    assert (e.artists, e.title, e.cue_seconds) == (["Mono Junk"], "Channel B", 180)


def test_wiki_links_and_bold_prefix_and_italics():
    e = one("# '''Rewind 2006:''' [[Tiga]] - [[Mind Dimension|Mind Dimension]] (Âme Remix) [Turbo]")
    assert (e.artists, e.title, e.remixers, e.label) == (["Tiga"], "Mind Dimension", ["Âme"], "Turbo")
    assert e.note == "prefix: Rewind 2006:"
    assert one("''Frank Wiedemann - Stratos''").is_uncertain


def test_line_without_separator_is_kept_as_unparsed():
    e = one("# Intro")
    assert e.entry_type == "unparsed" and e.title == "Intro" and e.track_id is None


def test_parse_credit_never_leaves_label_in_title():
    c = parse_credit("Stef Mendesidis - ? [Unreleased]")
    assert c.outcome == "placeholder" and c.label == "Unreleased"


def test_track_id_normalisation():
    assert make_track_id(["Tiësto"], "Adagio", []) == make_track_id(["Tiesto"], "adagio", [])
    assert make_track_id(["A", "B"], "T", []) == make_track_id(["B", "A"], "T", [])
    assert make_track_id(["A"], "T", ["X"]) != make_track_id(["A"], "T", [])
    assert make_track_id(["Røyksopp"], "Eple", []) == make_track_id(["Royksopp"], "Eple", [])
    assert one("Tiësto & Ava Max - The Motto (Extended Mix)").track_id == one("Ava Max & Tiesto - The Motto").track_id


def test_pages_are_decoded_in_their_declared_charset():
    from songnodes_assets.lib.silver_build import decode_body

    latin1 = "# Tiësto - Adagio For Strings".encode("latin-1")
    assert decode_body(latin1, "text/x-wiki; charset=ISO-8859-1") == "# Tiësto - Adagio For Strings"
    assert decode_body(latin1, 'text/html; charset="windows-1252"') == "# Tiësto - Adagio For Strings"
    assert decode_body(latin1, "text/x-wiki; charset=UTF-8") == "# Ti\ufffdsto - Adagio For Strings"  # lied: marked
    assert decode_body("Röyksopp".encode(), None) == decode_body("Röyksopp".encode(), "text/plain; charset=bogus-9")
    for hostile in ("base64", "zlib", "rot13", "hex", "idna", "undefined"):  # codecs, but not charsets
        assert decode_body("Röyksopp".encode(), f"text/html; charset={hostile}") == "Röyksopp"
