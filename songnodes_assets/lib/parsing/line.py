"""One tracklist line's text (cue already removed) -> a structured credit. Never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..ids import make_track_id, mashup_track_id
from .credits import (
    COARTIST_SPLIT_RE,
    DEFAULT_PROTECTED_NAMES,
    FEAT_RE,
    is_placeholder_text,
    split_artist_credit,
    split_title_descriptors,
)
from .text import collapse_ws, normalize_dashes

GAP_RE = re.compile(r"^(?:\.{2,}|…+|-{2,}|\.\s\.\s\.)$")
_TRAILING_NOISE_RE = re.compile(r"\s+(?:!+|\*+|\?!+)$")
# No leading \s* on the three label shapes: each matches at one place only, and the callers strip the
# text before it, so the result is the same and the search skips to a bracket instead of trying every space.
_LABEL_RE = re.compile(r"\[([^\[\]]*)\]\s*$")
_LABEL_MISMATCH_RE = re.compile(r"\(([^()\[\]]*)\]\s*$")  # "(Label]" typo seen on MixesDB
_LABEL_UNCLOSED_RE = re.compile(r"\[([^\[\]]+)$")
_CATNO_TOKEN_RE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9.\-]{1,14}$")
# The same three label shapes the silver contract refuses at the end of a title.
LABEL_TAIL_RE = re.compile(r"(?:\[[^\[\]]*\]\s*|\([^()\[\]]*\]\s*|\[[^\[\]]+)$")
_VS_RE = re.compile(r"\s+(?:vs\.?|Vs\.?|VS\.?)\s+")
SEPARATOR = " - "


@dataclass(slots=True)
class Credit:
    """What one line (or one mashup component) says about a track."""

    outcome: str  # identified | placeholder | gap | empty | unparsed
    artists: list[str] = field(default_factory=list)
    featured: list[str] = field(default_factory=list)
    title: str | None = None  # base title: no feat., remix or version descriptors
    title_full: str | None = None  # title as written, without featured credits and label
    remixers: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    version: str | None = None
    label: str | None = None
    catalog_number: str | None = None
    is_mashup: bool = False
    components: list["Credit"] = field(default_factory=list)
    note: str | None = None
    track_id: str | None = None

    @property
    def is_identified(self) -> bool:
        return self.outcome == "identified"


def split_label(inner: str) -> tuple[str | None, str | None]:
    """"Label - CAT 01" -> (Label, CAT 01); "SEM112" -> (None, SEM112); "Force Inc FIM-118" -> split."""
    inner = collapse_ws(inner)
    if not inner:
        return None, None
    if SEPARATOR in inner:
        label, cat = inner.rsplit(SEPARATOR, 1)
        if any(ch.isdigit() for ch in cat):
            return label.strip() or None, cat.strip() or None
        return inner, None
    tokens = inner.split(" ")
    if len(tokens) == 1 and _CATNO_TOKEN_RE.match(tokens[0]) and any(c.isupper() for c in tokens[0]):
        return None, tokens[0]
    if len(tokens) > 1 and _CATNO_TOKEN_RE.match(tokens[-1]) and re.search(r"\d", tokens[-1]) and (
        "-" in tokens[-1] or re.match(r"^[A-Za-z]+\d", tokens[-1])
    ):
        return " ".join(tokens[:-1]), tokens[-1]
    return inner, None


def take_label(text: str) -> tuple[str, str | None, str | None]:
    """Remove trailing [Label] / [Label - CATNO] groups (and the "(Label]" / "[Label" typos).

    Several trailing groups ("[Label] [Promo]") are all removed; their texts are joined with "; ".
    """
    labels: list[str] = []
    catno: str | None = None
    for _ in range(5):
        if not LABEL_TAIL_RE.search(text):
            break  # none of the three shapes ends the text
        for rx in (_LABEL_RE, _LABEL_MISMATCH_RE, _LABEL_UNCLOSED_RE):
            m = rx.search(text)
            if m and text[: m.start()].strip():
                label, cat = split_label(m.group(1))
                if label:
                    labels.insert(0, label)
                catno = catno or cat
                text = text[: m.start()].rstrip()
                break
        else:
            break
    if not labels and catno is None:
        m = _LABEL_RE.search(text)
        if m and not text[: m.start()].strip():  # the whole line is "[Label]": a placeholder with a label
            label, cat = split_label(m.group(1))
            return "", label, cat
    return text, "; ".join(labels) or None, catno


def _drop_dangling_open(text: str) -> str:
    """Drop a run of opening brackets at the very end (with the spaces around it): they close nothing."""
    tail = text.rstrip()
    end = len(tail)
    while end and tail[end - 1] in "[(":
        end -= 1
    return text if end == len(tail) else tail[:end].rstrip()


def _clean_tail(text: str) -> tuple[str, str | None, str | None]:
    """Strip label groups and dangling open brackets from the end until nothing changes."""
    if "[" not in text and "]" not in text and not text.rstrip().endswith("("):
        return text, None, None  # no label shape and no dangling bracket can match
    label = catno = None
    for _ in range(6):
        cleaned = _drop_dangling_open(text) if text.strip() not in ("[", "(") else text
        cleaned, lab, cat = take_label(cleaned)
        label, catno = label or lab, catno or cat
        if cleaned == text:
            break
        text = cleaned
        if "[" not in text and "]" not in text and not text.rstrip().endswith("("):
            break  # the next pass could change nothing
    return text, label, catno


def _finish(credit: Credit) -> Credit:
    unknown = (
        not credit.artists
        or any(is_placeholder_text(a) for a in credit.artists)
        or is_placeholder_text(credit.title)
        or any(is_placeholder_text(r) for r in credit.remixers)
    )
    if credit.components:
        unknown = unknown or any(not c.is_identified for c in credit.components)
    credit.outcome = "placeholder" if unknown else "identified"
    if credit.is_identified:
        if credit.components:
            credit.track_id = mashup_track_id([c.track_id for c in credit.components if c.track_id], credit.remixers)
        else:
            credit.track_id = make_track_id(
                credit.artists, credit.title or "", credit.remixers, credit.variants, credit.is_mashup
            )
    return credit


def parse_credit(text: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES, allow_mashup: bool = True,
                 fast: bool = True) -> Credit:
    """Parse "Artist - Title (Remix) [Label - Cat]" text. Every input gets an outcome. ``fast=False`` never
    takes the shortcut for the dominant shape (a differential test holds both paths equal)."""
    text = normalize_dashes(text)
    if not text:
        return Credit(outcome="empty")
    if text[0] in ".…-" and GAP_RE.match(text):
        return Credit(outcome="gap")
    if text[-1] in "!*":
        text = _TRAILING_NOISE_RE.sub("", text)
    text, label, catno = _clean_tail(text)
    simple = _simple_credit(text, label, catno) if fast else None
    if simple is not None:
        return simple
    if not text or is_placeholder_text(text):
        return Credit(outcome="placeholder", label=label, catalog_number=catno)
    if SEPARATOR not in text:
        # "ID (X Remix)", "? (X Remix)" are placeholders; anything else without a separator is unparsed.
        base, full, desc = split_title_descriptors(text, protected)
        if is_placeholder_text(base):
            return Credit(outcome="placeholder", title=base or None, title_full=full or None,
                          remixers=desc.remixers, label=label, catalog_number=catno)
        return Credit(outcome="unparsed", title=full or None, label=label, catalog_number=catno,
                      note="no ' - ' between artist and title")
    artist_text, title_text = text.split(SEPARATOR, 1)
    artist_text, title_text = artist_text.strip(), title_text.strip()

    if allow_mashup:
        mashup = _parse_mashup(artist_text, title_text, protected)
        if mashup is not None:
            mashup.label, mashup.catalog_number = label, catno
            return _finish(mashup)

    artists, featured = split_artist_credit(artist_text, protected)
    base, full, desc = split_title_descriptors(title_text, protected)
    # A label group written before the descriptors ("Title [Label] (X Remix)") is still label text.
    base, label2, cat2 = _clean_tail(base)
    label, catno = label or label2, catno or cat2
    full = _clean_tail(full)[0]
    for f in desc.featured:
        if f not in featured:
            featured.append(f)
    if base and not any(ch.isalnum() for ch in base):
        base = ""  # a title of punctuation only ("[", "-") names nothing: treated as unknown
    credit = Credit(
        outcome="identified",
        artists=artists,
        featured=featured,
        title=base or None,
        title_full=full or None,
        remixers=desc.remixers,
        variants=desc.variants,
        version="; ".join(desc.versions) or None,
        label=label,
        catalog_number=catno,
        is_mashup=desc.is_mashup,
    )
    return _finish(credit)




# Every alternative of COARTIST_SPLIT_RE ("&", "+", "x", "×", "vs", ",", "/") needs one of these characters.
_COARTIST_CHARS = frozenset("&+xX×vV,/")


def _simple_credit(text: str, label: str | None, catno: str | None) -> Credit | None:
    """The dominant shape, "Artist - Title" with its label already taken: one artist, no featured
    artist, no descriptor group, no mashup. Returns exactly what the full path returns for such text
    (a differential test holds the two equal), or None when the text needs the full path."""
    if SEPARATOR not in text or "(" in text or ")" in text or "[" in text or "]" in text:
        return None
    low = text.lower()
    if ("ft" in low or "feat" in low) and FEAT_RE.search(text) or "vs" in low and _VS_RE.search(text):
        return None
    artist, title = text.split(SEPARATOR, 1)
    artist, title = artist.strip(), title.strip()
    if not artist or not title or not artist[0].isalpha() \
            or not _COARTIST_CHARS.isdisjoint(artist) and COARTIST_SPLIT_RE.search(artist):
        return None
    artist = artist.strip(" ,;")
    if not artist or is_placeholder_text(artist) or is_placeholder_text(title):
        return None
    if not any(ch.isalnum() for ch in title):
        return None
    artists = [artist]
    return Credit(outcome="identified", artists=artists, title=title, title_full=title, label=label,
                  catalog_number=catno, track_id=make_track_id(artists, title, (), (), False))


def _parse_mashup(artist_text: str, title_text: str, protected: tuple[str, ...]) -> Credit | None:
    """Recognise "A - T1 vs. B - T2" and "A vs. B - T1 vs. T2"; None when the line is not a mashup."""
    title_parts = _VS_RE.split(title_text)
    if len(title_parts) < 2:
        return None
    pieces: list[str]
    if all(SEPARATOR in p for p in title_parts[1:]):
        pieces = [f"{artist_text}{SEPARATOR}{title_parts[0]}"] + title_parts[1:]
    else:
        artist_parts = _VS_RE.split(artist_text)
        if len(artist_parts) != len(title_parts):
            return None
        pieces = [f"{a}{SEPARATOR}{t}" for a, t in zip(artist_parts, title_parts)]
    # Descriptors after the last title ("(X Mashup)") belong to the container.
    last_base, _, container_desc = split_title_descriptors(pieces[-1], protected)
    components = []
    for i, piece in enumerate(pieces):
        if i == len(pieces) - 1 and container_desc.is_mashup:
            piece = last_base
        components.append(parse_credit(piece, protected, allow_mashup=False))
    if any(c.outcome in {"unparsed", "empty", "gap"} for c in components):
        return None
    artists: list[str] = []
    featured: list[str] = []
    for c in components:
        artists.extend(a for a in c.artists if a not in artists)
        featured.extend(f for f in c.featured if f not in featured)
    _, full, _ = split_title_descriptors(title_text, protected)
    return Credit(
        outcome="identified",
        artists=artists,
        featured=featured,
        title=" vs. ".join(c.title or "" for c in components) if all(c.is_identified for c in components) else None,
        title_full=full,
        remixers=container_desc.remixers if container_desc.is_mashup else [],
        variants=["mashup"],
        is_mashup=True,
        components=components,
    )
