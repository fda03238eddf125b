"""1001tracklists tracklist pages (rendered HTML, parsel) -> the same MixPage the MixesDB parser gives.

Rows are ``div.tlpItem``; each carries schema.org ``MusicRecording`` meta (``name``, ``byArtist``,
``publisher``) unless it is an unidentified "ID - ID" row, whose visible text is used instead. The cue
is a hidden input ``…_cue_seconds``; the position is ``span#…_tracknumber_value``; mashup components
are sub-rows (``tlpSubTog`` / ``data-mashpos``) without a number, written here as ``w/`` lines, so
the shared tracklist parser builds the container and its components exactly as for MixesDB.
"""

from __future__ import annotations

import re

from parsel import Selector

from .mixesdb_page import MixPage

_DATE_AT_END_RE = re.compile(r"^(?P<rest>.*?)\s+(?P<date>\d{4}-\d{2}-\d{2})\s*$")


def _cue(seconds: str | None) -> str:
    try:
        s = int(seconds or "")
    except ValueError:
        return ""
    if s <= 0:
        return ""
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"[{h}:{m:02d}:{sec:02d}] " if h else f"[{m}:{sec:02d}] "


def page_title(sel: Selector, fallback: str) -> tuple[str, list[str]]:
    """("YYYY-MM-DD - DJ @ Event" style title, DJ names) from the page's h1 or <title>."""
    h1 = sel.css("h1.notranslate") or sel.css("#pageTitle h1") or sel.css("h1")
    text = " ".join(" ".join(h1[0].css("::text").getall()).split()) if h1 else ""
    if not text:
        text = " ".join(" ".join(sel.css("title::text").getall()).split()) or fallback
    djs = [" ".join(a.split()) for a in (h1[0].css("a[href*='/dj/']::text").getall() if h1 else []) if a.strip()]
    m = _DATE_AT_END_RE.match(text)
    if m:  # 1001tracklists puts the date last; MixesDB style puts it first
        text = f"{m.group('date')} - {m.group('rest')}"
    return text, djs


def parse_1001tracklists(html_text: str, fallback_title: str) -> MixPage:
    sel = Selector(text=html_text)
    title, djs = page_title(sel, fallback_title)
    page = MixPage(title=title, categories=list(djs))
    rows = sel.css("div.tlpItem")
    page.has_tracklist_section = bool(rows) or bool(sel.css("#tlTab, div.tlp, [itemprop='tracks']"))
    for n, row in enumerate(rows, start=1):
        classes = row.attrib.get("class", "")
        is_component = "tlpSubTog" in classes or row.attrib.get("data-mashpos") == "true"
        name = row.css("meta[itemprop='name']::attr(content)").get()
        if not name:
            name = " ".join(" ".join(row.css("span.trackValue ::text").getall()).split()) or "?"
        label = " ".join(" ".join(row.css("span.trackLabel::text").getall()).split())
        if not label:
            label = row.css("meta[itemprop='publisher']::attr(content)").get() or ""
        cue = _cue(row.css("input[id$='_cue_seconds']::attr(value)").get())
        text = f"{name} [{label}]" if label and not name.rstrip().endswith("]") else name
        page.tracklist_lines.append((n, f"w/ {text}" if is_component else f"{cue}{text}"))
    return _fold_mashup_rows(page)


def _fold_mashup_rows(page: MixPage) -> MixPage:
    """A mashup row followed by its component rows: the components describe it, so the row itself is
    dropped in favour of "component 1" + "w/ component 2…" (the shared parser rebuilds the container)."""
    out: list[tuple[int, str]] = []
    lines = page.tracklist_lines
    i = 0
    while i < len(lines):
        n, text = lines[i]
        comps = []
        j = i + 1
        while j < len(lines) and lines[j][1].startswith("w/ "):
            comps.append(lines[j])
            j += 1
        if comps:
            cue = re.match(r"^(\[[^\]]*\]\s*)", text)
            out.append((comps[0][0], (cue.group(1) if cue else "") + comps[0][1][3:]))
            out.extend(comps[1:])
        else:
            out.append((n, text))
        i = j
    page.tracklist_lines = out
    return page
