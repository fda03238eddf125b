"""Artist credits: co-primary splitting, featured artists, remix/version descriptors."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .text import collapse_ws, fold

# Group and duo names that contain a separator character. Matched case-insensitively on whole
# names before splitting; extend with SONGNODES_PROTECTED_ARTISTS (comma-free list separated by "|").
DEFAULT_PROTECTED_NAMES = (
    "Above & Beyond", "Chase & Status", "Simon & Garfunkel", "Earth, Wind & Fire", "Crosby, Stills & Nash",
    "Crosby, Stills, Nash & Young", "Sly & The Family Stone", "Sly & Robbie", "Kruder & Dorfmeister",
    "Dimitri Vegas & Like Mike", "Axwell & Ingrosso", "Sunnery James & Ryan Marciano", "Chris & Cosey",
    "Hall & Oates", "Mumford & Sons", "Florence + The Machine", "Marina & The Diamonds",
    "Bob Marley & The Wailers", "Echo & The Bunnymen", "Huey Lewis & The News", "Kool & The Gang",
    "Martha & The Vandellas", "Ike & Tina Turner", "Belle & Sebastian", "Gabriel & Dresden",
    "Tyler, The Creator", "Peter, Paul & Mary", "Emerson, Lake & Palmer", "Blood, Sweat & Tears",
)

# Separators between co-primary artists. " vs. " is a collaboration credit here (a mashup is
# recognised from the *title*, see line.py). "and" is deliberately absent ("2000 and One").
COARTIST_SPLIT_RE = re.compile(
    r"\s+(?:&|\+|x|X|×|vs\.?|Vs\.?|VS\.?)\s+|\s*,\s*|\s+/\s+"
)
_LEADING_MARKER_RE = re.compile(r"^(?:\s*\[\s*[0-9?][0-9?:.]*\s*\]|\s*\d{1,3}[.)]\s|\s*\d{1,3}:\d{2}\s)+")
FEAT_RE = re.compile(r"\s+(?:\(|\[)?\b(?:feat\.?|ft\.?|featuring|Feat\.?|Ft\.?|FEAT\.?|FT\.?)\s+", re.IGNORECASE)
_FEAT_GROUP_RE = re.compile(r"^(?:feat\.?|ft\.?|featuring|with)\s+(.+)$", re.IGNORECASE)
_PAREN_GROUP_RE = re.compile(r"\s*\(([^()]*)\)")
_B2B_RE = re.compile(r"\s+b[23]b\s+|\s+back\s*to\s*back\s+|\s+pres(?:ents|\.)\s+", re.IGNORECASE)

REMIX_KEYWORDS = {
    "remix", "rmx", "mix", "edit", "re-edit", "reedit", "rework", "re-work", "bootleg", "flip",
    "vip", "dub", "mashup", "mash-up", "refix", "rerub", "re-rub", "version", "process",
    "reconfiguration", "interpretation", "reinterpretation", "reshape", "remake", "treatment",
    "retouch", "revision", "remode", "redux", "rebuild", "reconstruction", "dubmix", "mixx",
}
# Keywords that, with no remixer named, describe a version of the same recording.
_VERSION_KEYWORDS = {"mix", "version", "mixx"}
VERSION_WORDS = {
    "original", "extended", "radio", "club", "instrumental", "vocal", "album", "single", "short",
    "long", "main", "full", "clean", "explicit", "dirty", "acappella", "acapella", "a", "cappella",
    "intro", "outro", "live", "remastered", "remaster", "mono", "stereo", '12"', '7"', "12''",
    "7''", "12inch", "7inch", "special", "dj", "digital", "vinyl", "bonus", "censored", "uncensored",
}
_EDIT_AS_VERSION = {"radio", "club", "live", "extended", "short", "single", "album", "dj"}

PLACEHOLDER_RE = re.compile(
    r"^(?:\?+|id|i\.d\.|unknown(?:\s+(?:artist|track|title|id))?|n/?a|tba|tbc|tbd|x{2,}|unreleased id|\?+\s*\?+)$",
    re.IGNORECASE,
)


# The characters a PLACEHOLDER_RE match can start with: "?", i, u, n, t, x in either case, and the two that
# Python's IGNORECASE folds to i ("İ", "ı"); a test derives this set from the pattern over every code point.
PLACEHOLDER_FIRST = frozenset("?iIuUnNtTxX\u0130\u0131")


def is_placeholder_text(text: str | None) -> bool:
    if text is None:
        return True
    text = text.strip()
    return not text or (text[0] in PLACEHOLDER_FIRST and bool(PLACEHOLDER_RE.match(text)))


def _lower_in_place(text: str) -> str:
    """text.lower() with every character kept at its index ("İ".lower() is two characters, which would shift
    every position found in the lowered text)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


@functools.lru_cache(maxsize=64)
def _longest_first(protected: tuple[str, ...]) -> tuple[tuple[int, str, str], ...]:
    return tuple((i, name, _lower_in_place(name)) for i, name in enumerate(sorted(protected, key=len, reverse=True)))


def _protect(text: str, protected: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Swap protected names for opaque tokens so the splitter cannot cut them."""
    mapping: dict[str, str] = {}
    low = _lower_in_place(text)
    for i, name, name_low in _longest_first(protected):
        if name_low not in low:
            continue
        start = low.find(name_low)
        while start != -1:
            end = start + len(name)
            before_ok = start == 0 or not text[start - 1].isalnum()
            after_ok = end == len(text) or not text[end].isalnum()
            if before_ok and after_ok:
                token = f"\uE000{i}\uE001"
                mapping[token] = text[start:end]
                text = text[:start] + token + text[end:]
                low = _lower_in_place(text)
                start = low.find(name_low, start + len(token))
            else:
                start = low.find(name_low, end)
    return text, mapping


def split_artists(text: str | None, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> list[str]:
    """Split a credit into co-primary artists: "A & B", "A, B", "A x B", "A + B", "A vs. B"."""
    if not text or not text.strip():
        return []
    work = collapse_ws(text)
    if not COARTIST_SPLIT_RE.search(work):  # one name: protecting names would change nothing
        part = _LEADING_MARKER_RE.sub("", work).strip(" ,;") if work[0] in "[ 0123456789" else work.strip(" ,;")
        return [part] if part else []
    work, mapping = _protect(work, protected)
    parts = COARTIST_SPLIT_RE.split(work)
    out: list[str] = []
    for part in parts:
        for token, original in mapping.items():
            part = part.replace(token, original)
        part = _LEADING_MARKER_RE.sub("", part).strip(" ,;")  # a cue/position marker is never a name
        if part and part not in out:
            out.append(part)
    return out


def split_djs(text: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> list[str]:
    """DJ credits additionally split on b2b / back to back."""
    out: list[str] = []
    for chunk in _B2B_RE.split(text):
        for name in split_artists(chunk, protected):
            if name not in out:
                out.append(name)
    return out


@dataclass
class Descriptors:
    featured: list[str] = field(default_factory=list)
    remixers: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # remix-type words that change the recording
    is_mashup: bool = False


def classify_group(inner: str, acc: Descriptors, protected: tuple[str, ...]) -> bool:
    """Classify one "( … )" group of a title. Returns True when it was a descriptor (and is consumed)."""
    inner = collapse_ws(inner)
    if not inner:
        return True
    m = _FEAT_GROUP_RE.match(inner)
    if m:
        acc.featured.extend(a for a in split_artists(m.group(1), protected) if a not in acc.featured)
        return True
    words = inner.split(" ")
    lowered = [w.lower().strip(".,") for w in words]
    keyword = None
    cut = len(words)
    if len(lowered) >= 2 and lowered[-2] in {"re", "mash"} and lowered[-1] in {"edit", "work", "rub", "up"}:
        keyword = lowered[-2] + "-" + lowered[-1]
        cut = len(words) - 2
    elif lowered[-1] in REMIX_KEYWORDS:
        keyword = lowered[-1]
        cut = len(words) - 1
    if keyword is None:
        if all(w in VERSION_WORDS for w in lowered):
            acc.versions.append(inner)
            return True
        return False
    name_words = words[:cut]
    version_words: list[str] = []
    while name_words and name_words[-1].lower().strip(".,") in VERSION_WORDS:
        version_words.insert(0, name_words.pop())
    # "(Dub Mix)", "(VIP Edit)": the words before the keyword are themselves remix types, not a name.
    while name_words and name_words[-1].lower().strip(".,") in REMIX_KEYWORDS:
        extra = name_words.pop().lower().strip(".,").replace("-", "")
        if extra not in acc.variants and extra not in _VERSION_KEYWORDS:
            acc.variants.append(extra)
        while name_words and name_words[-1].lower().strip(".,") in VERSION_WORDS:
            version_words.insert(0, name_words.pop())
    name = " ".join(name_words).strip()
    if keyword in {"mashup", "mash-up"}:
        acc.is_mashup = True
    if name:
        for r in split_artists(name, protected):
            if r not in acc.remixers:
                acc.remixers.append(r)
        if version_words:
            acc.versions.append(" ".join(version_words))
        if keyword in {"mashup", "mash-up"} and "mashup" not in acc.variants:
            acc.variants.append("mashup")
        return True
    # No remixer named: a version of the same recording, or a variant that changes it.
    low_versions = {w.lower() for w in version_words}
    if keyword in _VERSION_KEYWORDS or (keyword == "edit" and low_versions & _EDIT_AS_VERSION):
        acc.versions.append(inner)
    else:
        variant = keyword.replace("-", "")
        if variant not in acc.variants:
            acc.variants.append(variant)
        acc.versions.append(inner)
    return True


def split_title_descriptors(title: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> tuple[str, str, Descriptors]:
    """Return (base title, title as written without featured credits, descriptors)."""
    acc = Descriptors()
    base_parts: list[str] = []
    full_parts: list[str] = []
    pos = 0
    for m in _PAREN_GROUP_RE.finditer(title):
        base_parts.append(title[pos:m.start()])
        full_parts.append(title[pos:m.start()])
        before = len(acc.featured)
        consumed = classify_group(m.group(1), acc, protected)
        if not consumed:
            base_parts.append(m.group(0))
        if not (consumed and len(acc.featured) > before):
            full_parts.append(m.group(0))
        pos = m.end()
    base_parts.append(title[pos:])
    full_parts.append(title[pos:])
    base = collapse_ws("".join(base_parts))
    full = collapse_ws("".join(full_parts))
    # Unbracketed "Title feat. X"
    fm = FEAT_RE.search(base)
    if fm:
        acc.featured.extend(a for a in split_artists(base[fm.end():].rstrip(")]"), protected) if a not in acc.featured)
        base = base[:fm.start()].strip()
        fm2 = FEAT_RE.search(full)
        if fm2:
            tail = full[fm2.end():]
            keep = tail[tail.find("("):] if "(" in tail else ""
            full = collapse_ws(full[:fm2.start()] + " " + keep)
    return base, full, acc


def split_artist_credit(text: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> tuple[list[str], list[str]]:
    """Artist side of a line: (primary artists, featured artists)."""
    featured: list[str] = []
    text = collapse_ws(text)

    def _paren(m: re.Match[str]) -> str:
        fm = _FEAT_GROUP_RE.match(collapse_ws(m.group(1)))
        if fm:
            featured.extend(split_artists(fm.group(1), protected))
            return ""
        return m.group(0)

    text = _PAREN_GROUP_RE.sub(_paren, text).strip()
    fm = FEAT_RE.search(text)
    if fm:
        featured.extend(split_artists(text[fm.end():].rstrip(")]"), protected))
        text = text[: fm.start()].strip()
    primary = split_artists(text, protected)
    return primary, [f for i, f in enumerate(featured) if f not in featured[:i]]


def folded_set(names: list[str]) -> list[str]:
    return sorted({fold(n) for n in names if fold(n)})
