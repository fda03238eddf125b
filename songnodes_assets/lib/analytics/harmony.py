"""Harmonic mixing on the Camelot wheel, and tempo distance that knows half/double time.

Camelot codes are ``1A`` … ``12A`` (minor) and ``1B`` … ``12B`` (major); neighbours on the wheel are a fifth
apart and 12 wraps to 1. A move from code ``a`` to code ``b`` is:

* ``same``         – the same code (8A → 8A);
* ``adjacent``     – same letter, number ±1 with the 12↔1 wrap (8A → 9A, 12B → 1B);
* ``relative``     – same number, other letter: the relative major/minor (8A → 8B);
* ``incompatible`` – anything else, including the "energy boost" diagonal (8A → 9B) and the +2 / +7 jumps
  some DJs use on purpose: they are legitimate tricks but not a safe harmonic blend, so they do not earn the
  compatibility bonus;
* ``unknown``      – either code is missing or not a valid Camelot code.

``compatible_camelot(code)`` is the set a DJ can blend into safely: itself, the two adjacent codes and the
relative code (4 codes for every valid code). The relation is symmetric: ``b in compatible_camelot(a)``
exactly when ``a in compatible_camelot(b)``.

``bpm_delta(a, b)`` compares the next track's tempo ``b`` with the current tempo ``a`` played straight, at
half time (``a / 2``) or double time (``a * 2``), whichever is closest, and returns ``b - that`` (positive:
the next track is faster; 174 after 87 is 0.0, not +87). None when either tempo is missing or not positive.

The SQL builders use ``normalize_camelot_sql`` / ``key_relation_sql`` / ``bpm_delta_sql``: the same rules
as SQL expressions, tested against these Python functions on every pair of codes.
"""

from __future__ import annotations

import math
import re

from ..camelot import camelot, parse_key

RELATIONS = ("same", "adjacent", "relative", "incompatible", "unknown")
COMPATIBLE = ("same", "adjacent", "relative")
_CODE_RE = re.compile(r"^\s*(1[0-2]|0?[1-9])\s*([ABab])\s*$")
ALL_CODES = tuple(f"{n}{letter}" for letter in "AB" for n in range(1, 13))


def normalize_camelot(code) -> str | None:
    """"8a", " 08A " -> "8A"; None for None / NaN / anything that is not a Camelot code."""
    if code is None or not isinstance(code, str):
        return None
    m = _CODE_RE.match(code)
    if not m:
        return None
    return f"{int(m.group(1))}{m.group(2).upper()}"


def camelot_of_key(text: str | None) -> str | None:
    """Camelot code of a written key ("F#m", "A minor", "6m" Open Key) via ``lib.camelot``; None if unknown."""
    pc, mode = parse_key(text)
    return camelot(pc, mode)


def _step(number: int, delta: int) -> int:
    return (number - 1 + delta) % 12 + 1


def compatible_camelot(code) -> list[str]:
    """[same, number-1, number+1, relative] for a valid code (12↔1 wrap), [] for None or an invalid code."""
    norm = normalize_camelot(code)
    if norm is None:
        return []
    number, letter = int(norm[:-1]), norm[-1]
    other = "B" if letter == "A" else "A"
    return [norm, f"{_step(number, -1)}{letter}", f"{_step(number, 1)}{letter}", f"{number}{other}"]


def key_relation(a, b) -> str:
    """same | adjacent | relative | incompatible | unknown for the move a -> b (see the module docstring)."""
    na, nb = normalize_camelot(a), normalize_camelot(b)
    if na is None or nb is None:
        return "unknown"
    if na == nb:
        return "same"
    number_a, letter_a, number_b, letter_b = int(na[:-1]), na[-1], int(nb[:-1]), nb[-1]
    if letter_a == letter_b and nb in (f"{_step(number_a, -1)}{letter_a}", f"{_step(number_a, 1)}{letter_a}"):
        return "adjacent"
    if number_a == number_b:
        return "relative"
    return "incompatible"


def _tempo(value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def bpm_delta(a, b) -> float | None:
    """b minus the closest of (a, a/2, a*2); ties prefer a, then a/2. None when a tempo is unknown."""
    ta, tb = _tempo(a), _tempo(b)
    if ta is None or tb is None:
        return None
    return min((tb - ta, tb - ta / 2, tb - ta * 2), key=abs)


def key_move_text(a, b) -> str | None:
    """"8A → 9A (adjacent)"; None when either key is unknown."""
    na, nb = normalize_camelot(a), normalize_camelot(b)
    if na is None or nb is None:
        return None
    return f"{na} → {nb} ({key_relation(na, nb)})"


def bpm_text(delta: float | None) -> str | None:
    """"+2.0 BPM", "-0.5 BPM", "±0.0 BPM"; None when unknown."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return None
    d = round(float(delta), 1)
    if d == 0:
        return "±0.0 BPM"
    return f"{d:+.1f} BPM"


# --- the same rules as SQL -------------------------------------------------------------------------------

def key_relation_sql(a: str, b: str) -> str:
    """SQL for ``key_relation`` of two expressions holding normalised codes (``normalize_camelot_sql``)."""
    na, nb = f"CAST(({a})[:-2] AS INTEGER)", f"CAST(({b})[:-2] AS INTEGER)"
    return (f"(CASE WHEN ({a}) IS NULL OR ({b}) IS NULL THEN 'unknown' WHEN ({a}) = ({b}) THEN 'same' "
            f"WHEN ({a})[-1:] = ({b})[-1:] AND (({na}) - ({nb}) + 12) % 12 IN (1, 11) THEN 'adjacent' "
            f"WHEN ({na}) = ({nb}) THEN 'relative' ELSE 'incompatible' END)")


def normalize_camelot_sql(expr: str) -> str:
    """SQL: the normalised code of ``expr`` (a VARCHAR), NULL when it is not a Camelot code."""
    pattern = _CODE_RE.pattern.replace("[ABab]", "[AB]")  # the Python rule's pattern, on the upper-cased text
    m = f"regexp_extract(upper({expr}), '{pattern}', ['n', 'l'])"
    return (f"(CASE WHEN regexp_full_match(upper({expr}), '{pattern}') "
            f"THEN CAST(CAST({m}.n AS INTEGER) AS VARCHAR) || {m}.l END)")


def bpm_delta_sql(a: str, b: str) -> str:
    """SQL for ``bpm_delta(a, b)`` (NULL when a tempo is NULL or not positive)."""
    d1, d2, d3 = f"(({b}) - ({a}))", f"(({b}) - ({a}) / 2.0)", f"(({b}) - ({a}) * 2.0)"
    return (f"(CASE WHEN ({a}) > 0 AND ({b}) > 0 AND isfinite({a}) AND isfinite({b}) THEN "
            f"CASE WHEN abs({d1}) <= abs({d2}) AND abs({d1}) <= abs({d3}) THEN {d1} "
            f"WHEN abs({d2}) <= abs({d3}) THEN {d2} ELSE {d3} END END)")


def bpm_text_sql(delta: str) -> str:
    """SQL for ``bpm_text``."""
    r = f"round({delta}, 1)"
    return (f"(CASE WHEN {delta} IS NULL THEN NULL WHEN {r} = 0 THEN '±0.0 BPM' "
            f"WHEN {r} > 0 THEN '+' || printf('%.1f', {r}) || ' BPM' ELSE printf('%.1f', {r}) || ' BPM' END)")
