"""A whole tracklist (MixesDB line style) -> one entry per line, none dropped.

Line style: one entry per line, optional ``#``/``*`` list markers, ``[cue]`` and position markers in
front, ``;Section`` headings (parts, b2b DJs), ``w/ …`` or ``+ …`` continuation lines (mashup
components of the entry above), ``...`` gaps and ``?``/``ID`` placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Iterable

from ..ids import mashup_track_id

try:  # mypyc's class options, where mypy is installed (the compile extra)
    from mypy_extensions import mypyc_attr
except ImportError:  # a plain install compiles nothing: the options mean nothing
    def mypyc_attr(*_args, **_kwargs):  # type: ignore[no-redef, misc]
        return lambda cls: cls

from .credits import DEFAULT_PROTECTED_NAMES
from .cues import take_leading_markers
from .line import Credit, parse_credit
from .text import clean_control, collapse_ws, strip_wiki_markup

PARSER_VERSION = "2026.11.1"
MAX_LINE_CHARS = 2000

_LIST_MARKER_RE = re.compile(r"^\s*[#*:]+\s*")
_SECTION_RE = re.compile(r"^\s*;\s*(.*?)\s*$")
_HEADING_RE = re.compile(r"^\s*(={2,6})\s*(.*?)\s*\1\s*$")
_SKIP_RE = re.compile(r"^\s*(?:</?list[^>]*>|\{\||\|\}|\|-|\{\{[^{}]*\}\}|__\w+__)\s*$", re.IGNORECASE)
_SPECIAL_STARTS = frozenset("<{|_;=")  # first characters _SKIP_RE, _SECTION_RE and _HEADING_RE can match
_CONTINUATION_RE = re.compile(r"^(?:w/|\+)\s+", re.IGNORECASE)


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled (make compile), a parser may still emit a subclass
@dataclass(slots=True)
class Entry:
    """One row of ``silver.playlist_tracks`` before playlist columns are added (slots: a day of entries is held
    in memory by silver, and a slotted instance is a quarter of an instance with a __dict__)."""

    line_no: int
    position: int | None
    section: str | None
    section_index: int
    entry_type: str  # track | placeholder | gap | empty | unparsed | mashup | component
    outcome: str  # the line's parse outcome (identified | placeholder | gap | empty | unparsed)
    raw_line: str
    cue_raw: str | None
    cue_seconds: int | None
    cue_valid: bool | None
    artists: list[str] = field(default_factory=list)
    featured: list[str] = field(default_factory=list)
    title: str | None = None
    title_full: str | None = None
    remixers: list[str] = field(default_factory=list)
    version: str | None = None
    label: str | None = None
    catalog_number: str | None = None
    is_identified: bool = False
    is_mashup: bool = False
    is_uncertain: bool = False
    component_of: int | None = None
    component_index: int | None = None
    track_id: str | None = None
    note: str | None = None


def entry_field_names() -> tuple[str, ...]:
    """Every field of an entry, in declaration order (the columns a new parser field adds show up here)."""
    return tuple(f.name for f in fields(Entry))


def _entry_from_credit(credit: Credit, **kw) -> Entry:
    return Entry(
        outcome=credit.outcome,
        artists=list(credit.artists),
        featured=list(credit.featured),
        title=credit.title,
        title_full=credit.title_full,
        remixers=list(credit.remixers),
        version=credit.version,
        label=credit.label,
        catalog_number=credit.catalog_number,
        is_identified=credit.is_identified,
        is_mashup=credit.is_mashup,
        track_id=credit.track_id,
        note=credit.note,
        **kw,
    )


_TYPE_BY_OUTCOME = {"identified": "track", "placeholder": "placeholder", "gap": "gap", "empty": "empty", "unparsed": "unparsed"}


class _Builder:
    def __init__(self, protected: tuple[str, ...]):
        self.protected = protected
        self.entries: list[Entry] = []
        self.section: str | None = None
        self.section_index = 0
        self.position = 0
        self.last_top: Entry | None = None
        self.last_top_index = -1  # where last_top sits in entries (no O(n) search per continuation line)
        self.container_credits: dict[int, list[Credit]] = {}
        self.grown: dict[int, Entry] = {}  # containers that continuation lines added components to

    def heading(self, name: str) -> None:
        self.section = collapse_ws(name) or None
        self.section_index += 1
        self.last_top = None

    def line(self, line_no: int, raw: str) -> None:
        text = clean_control(raw)
        if len(text) > MAX_LINE_CHARS:
            self.position += 1
            self.entries.append(Entry(line_no=line_no, position=self.position, section=self.section,
                                      section_index=self.section_index, entry_type="unparsed", outcome="unparsed",
                                      raw_line=text[:MAX_LINE_CHARS], cue_raw=None, cue_seconds=None, cue_valid=None,
                                      note=f"line longer than {MAX_LINE_CHARS} characters"))
            self.last_top = None
            return
        # the marker regex needs one of "#*:" after the leading whitespace (str.lstrip strips what \s matches)
        body = _LIST_MARKER_RE.sub("", text, count=1) if text.lstrip()[:1] in ("#", "*", ":") else text
        body, notes = strip_wiki_markup(body)
        if not body.strip():  # only markup (an HTML comment, a template, an empty "#"): not an entry
            return
        body, cue, _written_pos = take_leading_markers(body)
        cont = _CONTINUATION_RE.match(body)
        if cont:  # "w/ [12] Artist - Title": markers may follow the continuation mark too
            rest, cue2, _ = take_leading_markers(body[cont.end():])
            body = body[: cont.end()] + rest
            cue = cue or cue2
        raw_line = text.strip()
        cue_raw, cue_seconds, cue_valid = (cue.raw, cue.seconds, cue.valid) if cue else (None, None, None)
        if cont and self.last_top is not None and self.last_top.entry_type not in {"gap", "empty"}:
            common = self._common(raw_line, cue_raw, cue_seconds, cue_valid)
            self._component(line_no, parse_credit(body[cont.end():], self.protected, allow_mashup=False), common)
            return
        if cont:
            body = body[cont.end():]
        credit = parse_credit(body, self.protected)
        self.position += 1
        note = f"prefix: {notes['bold_prefix']}" if notes.get("bold_prefix") else credit.note
        entry = Entry(line_no, self.position, self.section, self.section_index,
                      "mashup" if credit.components else _TYPE_BY_OUTCOME[credit.outcome], credit.outcome,
                      raw_line, cue_raw, cue_seconds, cue_valid,
                      list(credit.artists), list(credit.featured), credit.title, credit.title_full,
                      list(credit.remixers), credit.version, credit.label, credit.catalog_number,
                      credit.outcome == "identified", credit.is_mashup, "italic" in notes, None, None,
                      credit.track_id, note)
        self.entries.append(entry)
        self.last_top = entry
        self.last_top_index = len(self.entries) - 1
        if credit.components:
            self.container_credits[line_no] = list(credit.components)
            common = self._common(raw_line, cue_raw, cue_seconds, cue_valid)
            for i, comp in enumerate(credit.components):
                self.entries.append(_entry_from_credit(comp, line_no=line_no, position=self.position,
                                                       entry_type="component", component_of=line_no,
                                                       component_index=i, **common))

    def _common(self, raw_line: str, cue_raw: str | None, cue_seconds: int | None, cue_valid: bool | None) -> dict:
        """The fields a line's component entries share with the line."""
        return dict(raw_line=raw_line, cue_raw=cue_raw, cue_seconds=cue_seconds, cue_valid=cue_valid,
                    section=self.section, section_index=self.section_index)

    def _component(self, line_no: int, credit: Credit, common: dict) -> None:
        top = self.last_top
        assert top is not None
        comps = self.container_credits.get(top.line_no)
        if comps is None:
            # The entry above becomes a mashup container; its own credit is component 0.
            first = Credit(outcome=top.outcome, artists=top.artists, featured=top.featured, title=top.title,
                           title_full=top.title_full, remixers=top.remixers, version=top.version,
                           label=top.label, catalog_number=top.catalog_number, track_id=top.track_id)
            comps = [first]
            self.container_credits[top.line_no] = comps
            idx = self.last_top_index
            self.entries.insert(idx + 1, _entry_from_credit(
                first, line_no=top.line_no, position=top.position, entry_type="component",
                component_of=top.line_no, component_index=0, raw_line=top.raw_line, cue_raw=top.cue_raw,
                cue_seconds=top.cue_seconds, cue_valid=top.cue_valid, section=top.section,
                section_index=top.section_index))
        comps.append(credit)
        self.entries.append(_entry_from_credit(credit, line_no=line_no, position=top.position,
                                               entry_type="component", component_of=top.line_no,
                                               component_index=len(comps) - 1, **common))
        top.entry_type = "mashup"
        top.is_mashup = True
        self.grown[top.line_no] = top  # recomputed once from all its components in finish()

    def finish(self) -> list[Entry]:
        """Recompute each container grown by continuation lines from all its components (once per
        container, so a tracklist of many ``w/`` lines stays linear)."""
        for top in self.grown.values():
            comps = self.container_credits[top.line_no]
            artists: list[str] = []
            seen: set[str] = set()
            for c in comps:
                for a in c.artists:
                    if a not in seen:
                        seen.add(a)
                        artists.append(a)
            top.artists = artists
            identified = all(c.is_identified for c in comps)
            top.title = " vs. ".join(c.title or "" for c in comps) if identified else None
            top.is_identified = identified
            top.outcome = "identified" if identified else "placeholder"
            top.track_id = mashup_track_id([c.track_id for c in comps if c.track_id]) if identified else None
        return self.entries


def parse_tracklist(lines: Iterable[str] | Iterable[tuple[int, str]] | str, first_line_no: int = 1,
                    protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> list[Entry]:
    """Parse tracklist text. Headings (``;X`` or ``=== X ===``) start sections; never raises on text."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    b = _Builder(protected)
    for offset, item in enumerate(lines):
        # items are lines, or (line_no, line) pairs when the caller knows where each line came from
        line_no, raw = item if isinstance(item, tuple) else (first_line_no + offset, item)
        if raw is None:
            continue
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped[0] in _SPECIAL_STARTS:  # skipped markup, ";Section" and "== Heading ==" start so
            if _SKIP_RE.match(stripped):
                continue
            m = _SECTION_RE.match(stripped)
            if m:
                b.heading(strip_wiki_markup(m.group(1))[0])
                continue
            m = _HEADING_RE.match(stripped)
            if m:
                b.heading(strip_wiki_markup(m.group(2))[0])
                continue
        b.line(line_no, raw)
    return b.finish()
