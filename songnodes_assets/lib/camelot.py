"""Musical keys: parse the notations the sources use and map key + mode to the Camelot wheel.

Pitch classes: C=0 … B=11 (Spotify's ``key``). Camelot: C major = 8B, A minor = 8A; each step on the
wheel is a fifth. Open Key (GetSongBPM's ``open_key``): 1d = C major, 1m = A minor.
"""

from __future__ import annotations

import re

_NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#♯b♭]?)\s*(m(?:in(?:or)?)?|maj(?:or)?|M)?\s*$")
_OPEN_KEY_RE = re.compile(r"^\s*(\d{1,2})\s*([dm])\s*$", re.IGNORECASE)
PITCH_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def camelot(pitch_class: int | None, mode: str | None) -> str | None:
    """Camelot code for a pitch class (0-11) and mode ("major"/"minor"); None when unknown."""
    if pitch_class is None or mode not in ("major", "minor") or not 0 <= int(pitch_class) <= 11:
        return None
    pc = int(pitch_class)
    if mode == "minor":
        pc = (pc + 3) % 12  # the relative major shares the number
    number = (7 * pc + 8) % 12 or 12
    return f"{number}{'A' if mode == 'minor' else 'B'}"


def parse_key(text: str | None, scale: str | None = None) -> tuple[int | None, str | None]:
    """"G♯m", "F#m", "Bb", "A minor", ("D", "major"), "6m" (Open Key) -> (pitch class, mode)."""
    if text is None:
        return None, None
    text = str(text).strip()
    m = _OPEN_KEY_RE.match(text)
    if m and 1 <= int(m.group(1)) <= 12:
        n = int(m.group(1)) - 1
        if m.group(2).lower() == "d":
            return (7 * n) % 12, "major"
        return (9 + 7 * n) % 12, "minor"
    words = text.replace("-", " ").split()
    if len(words) == 2 and words[1].lower() in ("major", "minor", "maj", "min"):
        text, scale = words[0], words[1]
    m = _KEY_RE.match(text)
    if not m:
        return None, None
    pc = _NOTE[m.group(1).upper()]
    if m.group(2) in ("#", "♯"):
        pc = (pc + 1) % 12
    elif m.group(2) in ("b", "♭"):
        pc = (pc - 1) % 12
    suffix = m.group(3)
    if suffix and suffix != "M" and suffix.lower().startswith("m") and not suffix.lower().startswith("maj"):
        mode = "minor"
    elif suffix:
        mode = "major"
    elif scale:
        mode = "minor" if scale.lower().startswith("min") else "major"
    else:
        mode = "major"
    return pc, mode


def spotify_key(key: int | None, mode: int | None) -> tuple[int | None, str | None]:
    """Spotify audio-features: key -1 means no key detected; mode 1 major, 0 minor."""
    if key is None or key < 0 or key > 11 or mode not in (0, 1):
        return None, None
    return int(key), "major" if mode == 1 else "minor"


def key_name(pitch_class: int | None, mode: str | None) -> str | None:
    if pitch_class is None or mode is None:
        return None
    return PITCH_NAMES[int(pitch_class)] + ("m" if mode == "minor" else "")
