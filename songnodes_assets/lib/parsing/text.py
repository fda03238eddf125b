"""Text clean-up shared by every parser: dashes, wiki markup, whitespace, id normalisation."""

from __future__ import annotations

import functools
import html
import re
import unicodedata

# Every dash-like character that people type between artist and title.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_RE = re.compile(f"[{_DASHES}]")
# A hyphen with a space on exactly one side is a separator typed carelessly
# ("Artist -Title", "Artist- Title"); a hyphen inside a word ("Rub-A-Dub", "Jay-Z") is left alone.
_ONE_SIDED_DASH_RE = re.compile(r"(?:(?<=[^\s-])-(?=\s)|(?<=\s)-(?=[^\s\-\d]))")
_WS_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")

_WIKILINK_RE = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_EXTLINK_RE = re.compile(r"\[(?:https?:)?//[^\s\]]+(?:\s+([^\]]*))?\]")
_TEMPLATE_RE = re.compile(r"\{\{[^{}]*\}\}")
_REF_RE = re.compile(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref>", re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_TAG_RE = re.compile(r"</?[a-zA-Z][^<>]*>")
_BOLD_PREFIX_RE = re.compile(r"^'''(.+?)'''\s*")
_ITALIC_WRAP_RE = re.compile(r"^''(?!')(.*?)''$")
# Every rule of strip_wiki_markup needs one of these: "<" (comments, refs, tags), "{{" (templates),
# "[[" (links), "//" (external links), "&" (entities), "''" (bold, italic).

# Letters that NFKD does not decompose but that people write without the accent.
_FOLD_TABLE = str.maketrans(
    {
        "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ı": "i", "ð": "d",
    }
)


def clean_control(text: str) -> str:
    """Drop control and zero-width characters; tabs become spaces."""
    text = text.replace("\t", " ")
    # every character _CONTROL_RE removes is non-printable: a printable line has none (the common case)
    return text if text.isprintable() else _CONTROL_RE.sub("", text)


def normalize_dashes(text: str) -> str:
    """Turn en/em dashes into " - "; when the line has no separator at all, a one-sided hyphen
    ("Artist -Title", "Artist- Title") is taken as the separator. Hyphens elsewhere ("rm -rf",
    "Jay-Z", "--") are left alone."""
    if not text.isascii():  # the dash characters are all outside ASCII
        text = _DASH_RE.sub(" - ", text)
    text = " ".join(text.split())
    if " - " not in text and "-" in text:
        text = " ".join(_ONE_SIDED_DASH_RE.sub(" - ", text, count=1).split())
    return text


def strip_wiki_markup(text: str) -> tuple[str, dict[str, str]]:
    """Remove MediaWiki markup from one line; returns the text and what was learned from it.

    Learned keys: ``bold_prefix`` (a ``'''Note:'''`` lead-in), ``italic`` ("1" when the whole line
    was italic, MixesDB's mark for an unsure entry), ``external_url`` (unwrapped ``[https://… text]``).
    """
    notes: dict[str, str] = {}
    # nothing any rule below would change (most lines): no tag, entity, link, template, URL or quote markup
    if not ("<" in text or "&" in text or "[[" in text or "{{" in text or "//" in text or "''" in text):
        return text.strip(), notes
    text = _COMMENT_RE.sub("", text)
    text = _REF_RE.sub("", text)
    for _ in range(3):  # nested templates
        new = _TEMPLATE_RE.sub("", text)
        if new == text:
            break
        text = new
    ext = _EXTLINK_RE.search(text)
    if ext:
        notes["external_url"] = ext.group(0)[1:].split()[0].rstrip("]")
    text = _EXTLINK_RE.sub(lambda m: m.group(1) or "", text)
    text = _WIKILINK_RE.sub(lambda m: m.group(1), text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text).strip()
    m = _BOLD_PREFIX_RE.match(text)
    if m:
        notes["bold_prefix"] = m.group(1).strip()
        text = text[m.end():]
    m = _ITALIC_WRAP_RE.match(text.strip())
    if m:
        notes["italic"] = "1"
        text = m.group(1)
    text = text.replace("'''", "").replace("''", "")
    return text.strip(), notes


def collapse_ws(text: str) -> str:
    return " ".join(text.split())  # str.split and the regex \s agree on what whitespace is


def _ascii_fold_table() -> dict[int, str]:
    """fold() for an ASCII character: letters lower-cased, digits kept, whitespace and "-_/" -> space,
    "&" -> " and ", anything else dropped (NFKC/NFKD and the accent table change no ASCII character)."""
    table: dict[int, str] = {}
    for code in range(128):
        ch = chr(code)
        if ch.isalnum():
            table[code] = ch.lower()
        elif ch.isspace() or ch in "-_/":
            table[code] = " "
        elif ch == "&":
            table[code] = " and "
        else:
            table[code] = ""
    return table


_ASCII_FOLD = _ascii_fold_table()


@functools.lru_cache(maxsize=65_536)  # popular names hit; memory stays bounded on a day of unique names
def fold(text: str) -> str:
    """Identity form of a name: NFKC, accents folded, lower-cased, punctuation dropped."""
    if text.isascii():
        return " ".join(text.translate(_ASCII_FOLD).split())
    return fold_unicode(text)


def fold_unicode(text: str) -> str:
    """fold() by its definition, for any text (fold takes a shortcut for ASCII text)."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD_TABLE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ")
    text = "".join(ch if (ch.isalnum() or ch.isspace()) else " " if ch in "-_/" else "" for ch in text)
    return _WS_RE.sub(" ", text).strip()
