"""The parser's speed work changes no output.

- Against the parser as it was before the speed work (the parsing package at REFERENCE_COMMIT, read from this
  repository's own history into a temporary package): every entry, field by field, on the MixesDB corpus,
  the sample site and seeded random mutations of their lines.
- The shortcuts against the paths they skip: the "Artist - Title" fast path against the full credit path, and
  the ASCII fold against the Unicode definition, on generated text (hypothesis).
"""

from __future__ import annotations

import dataclasses
import importlib
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from songnodes_assets.lib.parsing.line import parse_credit
from songnodes_assets.lib.parsing.mixesdb_page import parse_wikitext
from songnodes_assets.lib.parsing.text import fold, fold_unicode
from songnodes_assets.lib.parsing.tracklist import parse_tracklist

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "mixesdb"
SAMPLE = REPO / "songnodes_assets" / "sample_site" / "pages"
# The last commit before the parser's speed work (issue 12): its output is the reference.
REFERENCE_COMMIT = "597e9c8a2de929fb6b17f7e00a56902d6ccfda31"
REFERENCE_FILES = ["lib/ids.py", "lib/parsing/text.py", "lib/parsing/cues.py", "lib/parsing/credits.py",
                   "lib/parsing/line.py", "lib/parsing/tracklist.py"]


@pytest.fixture(scope="module")
def reference_parse(tmp_path_factory):
    """parse_tracklist as of REFERENCE_COMMIT, imported as the package ``parser_reference``."""
    root = tmp_path_factory.mktemp("reference") / "parser_reference"
    for rel in ["__init__.py", "lib/__init__.py", "lib/parsing/__init__.py"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    for rel in REFERENCE_FILES:
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{REFERENCE_COMMIT}:songnodes_assets/{rel}"],
                               capture_output=True, text=True)
        assert shown.returncode == 0, f"the reference parser is read from git history: {shown.stderr.strip()}"
        (root / rel).write_text(shown.stdout)
    sys.path.insert(0, str(root.parent))
    try:
        module = importlib.import_module("parser_reference.lib.parsing.tracklist")
    finally:
        sys.path.remove(str(root.parent))
    return module.parse_tracklist


def _pages() -> list[list[str]]:
    pages = []
    for f in sorted(CORPUS.glob("wikitext/*.wiki")) + sorted(SAMPLE.glob("*.wiki")):
        pages.append([line for _, line in parse_wikitext(f.read_text(encoding="utf-8"), f.stem).tracklist_lines])
    for f in sorted(CORPUS.glob("tracklists/laceto_reconstructed/*.txt")):
        pages.append(f.read_text(encoding="utf-8").splitlines())
    return [p for p in pages if p]


_MUTATIONS = ["(", ")", "[", "]", " & ", ", ", " / ", " + ", " x ", " feat. ", " Ft ", " vs. ", " VS ", " - ", "–",
              "-", " -", "- ", "''", "'''", "[[", "]]", "<!--", "{{", "}}", "<b>", "&amp;", "w/ ", "+ ", ";", "#",
              "*", ":", "?", "ID", "...", "!", " !!", "\t", "  ", "\u200b", "é", "Ø", "ı", "01. ", "[12] ",
              "(X Remix)", "(Original Mix)", "(Dub Mix)", "[Label - CAT 1]", "(Label]", "[Unclosed", " (", " ["]


def _mutated(lines: list[str], n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        line = rng.choice(lines)
        for _ in range(rng.randint(1, 3)):
            i = rng.randint(0, len(line))
            r = rng.random()
            if r < 0.65:
                line = line[:i] + rng.choice(_MUTATIONS) + line[i:]
            elif r < 0.85:
                line = line[:i] + line[i + rng.randint(1, 4):]
            else:
                line = line[:i] + line[i:].upper()
        out.append(line)
    return [out[i:i + 25] for i in range(0, len(out), 25)]


def _rows(entries) -> list[tuple]:
    return [dataclasses.astuple(e) for e in entries]


def test_output_equals_the_reference_parser_on_corpus_sample_site_and_mutations(reference_parse):
    pages = _pages()
    assert len(pages) >= 5 and sum(map(len, pages)) > 300, "the MixesDB corpus and the sample site are read"
    pages += _mutated([line for p in pages for line in p], 15_000, seed=12)
    for page in pages:
        assert _rows(parse_tracklist(page)) == _rows(reference_parse(page)), page


_WORD = st.sampled_from(["Ben", "Klock", "Âme", "Tiësto", "Øre", "DJ", "ID", "id", "?", "Unknown", "x", "X", "vs",
                         "feat", "ft.", "Remix", "Edit", "Mix", "Original", "Dub", "Label", "CAT-01", "12", "007",
                         "Above & Beyond", "Chase & Status", "Tyler, The Creator", "Jay-Z", "Don't", "İstanbul"])
_GLUE = st.sampled_from([" ", " - ", " & ", ", ", " / ", " + ", " x ", " vs. ", " feat. ", " (", ")", " [", "]", "-",
                         " -", "- ", "–", "!", " *", "  ", "\t", ";", ":", "."])
_TEXT = st.lists(st.tuples(_WORD, _GLUE), min_size=1, max_size=8).map(lambda ps: "".join(w + g for w, g in ps))


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_fast_path_equals_full_credit_path(text):
    assert parse_credit(text) == parse_credit(text, fast=False)
    assert parse_credit(text, allow_mashup=False) == parse_credit(text, allow_mashup=False, fast=False)


def test_ascii_fold_equals_the_unicode_definition_for_every_ascii_character():
    for code in range(128):
        for text in (chr(code), f"a{chr(code)}B", f"{chr(code) * 2} x", f" {chr(code)}&{chr(code)} "):
            assert fold(text) == fold_unicode(text), repr(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_ascii_fold_equals_the_unicode_definition_on_random_text(text):
    assert fold(text) == fold_unicode(text)


def test_a_character_that_lowercases_to_two_does_not_break_protected_names():
    """"İ".lower() is two characters; protected names were found at shifted positions (IndexError)."""
    credit = parse_credit("İstanbul Above & Beyond - Ben")
    assert credit.artists == ["İstanbul Above & Beyond"] and credit.title == "Ben"
    assert parse_credit("İ - Above & Beyond & Chase & Status - X").outcome == "identified"


def test_the_character_gates_are_exact_over_every_code_point():
    """clean_control skips its regex on a printable line, and the list-marker regex is skipped unless one of
    "#*:" follows the leading whitespace: exact only if every character the control regex removes is
    non-printable and str.lstrip strips exactly what the regex's \\s matches — checked for every code point."""
    import re

    from songnodes_assets.lib.parsing.text import _CONTROL_RE

    space = re.compile(r"\s")
    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    assert not [c for c in chars if _CONTROL_RE.match(c) and c.isprintable()]
    assert not [c for c in chars if bool(space.match(c)) != (c.lstrip() == "")]


def test_the_placeholder_gate_holds_every_character_a_placeholder_can_start_with():
    """is_placeholder_text runs its regex only on text starting with a PLACEHOLDER_FIRST character: every
    alternative of PLACEHOLDER_RE starts with "?", i, u, n, t or x, and under IGNORECASE those match exactly
    PLACEHOLDER_FIRST (checked over every code point), so the gate never skips a match."""
    import re

    from songnodes_assets.lib.parsing.credits import PLACEHOLDER_FIRST, PLACEHOLDER_RE

    alternatives = PLACEHOLDER_RE.pattern.removeprefix("^(?:").removesuffix(")$").split("|")
    firsts = {"?" if a.startswith("\\?") else a[0] for a in alternatives}
    assert firsts == set("?iuntx")
    first = re.compile(f"[{re.escape(''.join(sorted(firsts)))}]", re.IGNORECASE)
    assert {c for c in map(chr, range(0x110000)) if first.match(c)} == PLACEHOLDER_FIRST


def test_the_co_artist_gate_names_a_character_of_every_alternative():
    """_simple_credit skips COARTIST_SPLIT_RE when the artist has none of _COARTIST_CHARS: each alternative of
    the (case-sensitive) pattern must contain one of them."""
    from songnodes_assets.lib.parsing.credits import COARTIST_SPLIT_RE
    from songnodes_assets.lib.parsing.line import _COARTIST_CHARS

    assert not COARTIST_SPLIT_RE.flags & __import__("re").IGNORECASE
    inner = COARTIST_SPLIT_RE.pattern.split("|")
    assert inner and all(set(alt.replace("\\s", "")) & _COARTIST_CHARS for alt in inner)
