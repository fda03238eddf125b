"""Mix page titles: ``YYYY-MM-DD - DJ - Show`` and ``YYYY-MM-DD - DJ @ Venue`` (date may be YYYY or YYYY-MM)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .credits import DEFAULT_PROTECTED_NAMES, split_djs
from .text import collapse_ws, fold, normalize_dashes

_DATE_RE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2}|XX)(?:-(?P<d>\d{2}|XX))?)?\s+-\s+(?P<rest>.+)$", re.IGNORECASE)
_LIVE_RE = re.compile(r"\s*\((?:live(?:\s+pa)?|live\s+set|dj\s+set|hybrid(?:\s+set)?|live\s+act)\)\s*", re.IGNORECASE)

# Style categories seen on MixesDB; a category that is not a year, a DJ, the tracklist status or
# one of these is kept as an "entity" (show, venue, label, event).
GENRES = {fold(g) for g in (
    "Acid", "Acid House", "Acid Techno", "Afro House", "Ambient", "Balearic", "Bass", "Bass House",
    "Big Beat", "Breakbeat", "Breaks", "Chicago House", "Chillout", "Dance", "Dancehall", "Deep House",
    "Deep Techno", "Detroit Techno", "Disco", "Downtempo", "Drum & Bass", "Drum and Bass", "Dub",
    "Dub Techno", "Dubstep", "EBM", "Electro", "Electro House", "Electronica", "Electronic",
    "Experimental", "Funk", "Future House", "Garage", "Grime", "Hard Techno", "Hardcore", "Hardstyle",
    "Hip Hop", "House", "IDM", "Indie", "Industrial", "Italo Disco", "Jazz", "Jungle", "Leftfield",
    "Melodic House", "Melodic Techno", "Minimal", "Minimal Techno", "Nu Disco", "Pop", "Progressive",
    "Progressive House", "Psytrance", "Psy Trance", "R&B", "Reggae", "Rock", "Soul", "Tech House",
    "Techno", "Trance", "Tribal", "Trip Hop", "UK Garage", "Uplifting Trance", "Wave", "World",
)}


@dataclass
class MixTitle:
    title: str
    mix_date: dt.date | None = None
    date_precision: str | None = None  # day | month | year
    djs: list[str] = field(default_factory=list)
    show: str | None = None  # "… - DJ - Show"
    venue: str | None = None  # "… - DJ @ Venue, City"
    is_live: bool = False


def parse_mix_title(title: str, categories: list[str] | None = None,
                    protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> MixTitle:
    """Split a page title into date, DJ(s) and show/venue. Categories break ties for DJ names
    that contain " - " (the DJ part is the longest prefix whose names are all categories)."""
    cats = {fold(c) for c in (categories or [])}
    clean = collapse_ws(normalize_dashes(title.replace("_", " ")))
    out = MixTitle(title=clean)
    rest = clean
    m = _DATE_RE.match(clean)
    if m:
        rest = m.group("rest")
        out.mix_date, out.date_precision = _date(m.group("y"), m.group("m"), m.group("d"))
    if " @ " in rest:
        dj_part, out.venue = (s.strip() for s in rest.split(" @ ", 1))
        if " - " in dj_part:  # "DJ - Show @ Venue"
            dj_part, out.show = _split_dj_show(dj_part, cats, protected)
    else:
        dj_part, out.show = _split_dj_show(rest, cats, protected)
    if _LIVE_RE.search(dj_part):
        out.is_live = True
        dj_part = _LIVE_RE.sub(" ", dj_part).strip()
    out.djs = _djs(dj_part, cats, protected)
    return out


def _split_dj_show(text: str, cats: set[str], protected: tuple[str, ...]) -> tuple[str, str | None]:
    pieces = text.split(" - ")
    if len(pieces) == 1:
        return text.strip(), None
    for cut in range(len(pieces) - 1, 0, -1):
        dj = " - ".join(pieces[:cut])
        names = _djs(_LIVE_RE.sub(" ", dj).strip(), cats, protected)
        if cats and names and all(fold(n) in cats for n in names) and cut > 1:
            return dj.strip(), " - ".join(pieces[cut:]).strip() or None
    return pieces[0].strip(), " - ".join(pieces[1:]).strip() or None


def _djs(text: str, cats: set[str], protected: tuple[str, ...]) -> list[str]:
    if not text:
        return []
    if fold(text) in cats:  # a duo filed under one category ("Above & Beyond")
        return [text]
    return split_djs(text, protected)


def _date(y: str, m: str | None, d: str | None) -> tuple[dt.date | None, str | None]:
    try:
        if m and d and m.isdigit() and d.isdigit():
            return dt.date(int(y), int(m), int(d)), "day"
        if m and m.isdigit():
            return dt.date(int(y), int(m), 1), "month"
        return dt.date(int(y), 1, 1), "year"
    except ValueError:
        return None, None


def classify_categories(categories: list[str], djs: list[str]) -> dict[str, list[str]]:
    """Sort a page's categories into genres, years, DJs and other entities (shows, venues, labels)."""
    dj_keys = {fold(d) for d in djs}
    out: dict[str, list[str]] = {"genres": [], "years": [], "djs": [], "entities": []}
    for cat in categories:
        key = fold(cat)
        if cat.lower().startswith("tracklist:"):
            continue
        if re.fullmatch(r"\d{4}", cat.strip()):
            out["years"].append(cat)
        elif key in dj_keys:
            out["djs"].append(cat)
        elif key in GENRES:
            out["genres"].append(cat)
        else:
            out["entities"].append(cat)
    return out
