"""Bronze rows of one partition -> the four silver tables. Pure: same bronze + parser version in,
same rows out (sorted, deduplicated), so re-materialising a partition never changes or inflates it."""

from __future__ import annotations

import codecs
import dataclasses
import functools
import json
import re
from dataclasses import dataclass
from types import SimpleNamespace

import pandas as pd

from .ids import playlist_id as make_playlist_id
from .legacy import map_items, mix_fields
from .page_identity import canonical_wiki_title, page_key, redirect_target
from .parsing.credits import DEFAULT_PROTECTED_NAMES
from .parsing.mix_title import classify_categories, parse_mix_title
from .parsing.mixesdb_page import MixPage, parse_rendered_html, parse_wikitext, title_from_url
from .parsing.text import fold
from .parsing.tracklist import PARSER_VERSION, Entry, entry_field_names, parse_tracklist
from .parsing.tracklists1001 import parse_1001tracklists
from .quarantine import QUARANTINED, Thresholds, quarantine
from .schemas import (BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_PROBLEMS, SILVER_TRACKS,
                      SILVER_TRANSITIONS)


@dataclass
class SilverTables:
    playlists: pd.DataFrame
    playlist_tracks: pd.DataFrame
    tracks: pd.DataFrame
    transitions: pd.DataFrame
    pages_skipped: int  # bronze rows that are fetch errors (kept in bronze, not parsed)
    legacy_counts: dict = dataclasses.field(default_factory=dict)  # imported old items: used / skipped per type
    problems: pd.DataFrame | None = None  # quarantined lines and pages, with the rule each broke
    stats: dict = dataclasses.field(default_factory=dict)  # pages, lines, duplicate fetches, repeats, quarantine


def latest_pages(bronze: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The newest successful fetch of each URL in the partition, and the count of error rows. (Several URLs
    of one page are merged later, by page identity.) Works on frames with or without the body column."""
    if bronze.empty:
        return bronze, 0
    bronze = bronze[bronze["record_kind"] == "page"]  # imported legacy items are handled by _add_legacy
    has_body = bronze["body"].notna() if "body" in bronze else bronze["body_bytes"].notna()
    ok = bronze[(bronze["status"].fillna(0) == 200) & bronze["error_kind"].isna() & has_body]
    errors = int(len(bronze) - len(ok))
    ok = ok.sort_values(["url", "fetched_at", "sha256"]).drop_duplicates("url", keep="last")
    return ok.sort_values("url").reset_index(drop=True), errors


def decode_body(body: bytes, content_type: str | None) -> str:
    """The page text in the charset its Content-Type declares (UTF-8 when none or unknown); bytes that are
    not valid in it become U+FFFD, so a line is never dropped for one bad byte."""
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.I)
    charset = match.group(1) if match else "utf-8"
    try:
        if not codecs.lookup(charset)._is_text_encoding:  # base64, zlib, rot13...: not a charset
            charset = "utf-8"
        return body.decode(charset, errors="replace")
    except (LookupError, UnicodeError):  # unknown name, or a codec without "replace" (idna, undefined)
        return body.decode("utf-8", errors="replace")


def parse_page(body: bytes, content_type: str | None, title: str, source: str = "mixesdb") -> MixPage:
    text = decode_body(body, content_type)
    return _parse_text(text, content_type, title, source)


def _parse_text(text: str, content_type: str | None, title: str, source: str) -> MixPage:
    if source == "1001tracklists":
        return parse_1001tracklists(text, title)
    ctype = (content_type or "").lower()
    if "html" in ctype or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        return parse_rendered_html(text, title)
    return parse_wikitext(text, title)


@dataclass
class _ParsedPage:
    order: tuple  # newest fetch wins among pages of one identity: (fetched_at, sha256, url)
    playlist: dict
    entries: list[Entry]  # kept as (slotted) entries; the columns are built once for the whole day
    problems: list[dict]
    repeats: int


def _problem(scrape_date, source, url, pid, scope, problem, detail, line_no=None, raw_line=None) -> dict:
    return {"scrape_date": scrape_date, "source": source, "url": url, "playlist_id": pid, "scope": scope,
            "line_no": line_no, "raw_line": raw_line, "problem": problem, "detail": detail,
            "parser_version": PARSER_VERSION}


def _parse_page_row(page_row, scrape_date: str, protected, thresholds: Thresholds) -> _ParsedPage | dict:
    """One fetched page -> its playlist, entries and problems; or one page-level problem row when the page
    is not a playlist (a redirect) or the parser fails on it."""
    title = page_row.page_title or title_from_url(page_row.url)
    text = decode_body(page_row.body, page_row.content_type)
    if page_row.source == "mixesdb":
        target = redirect_target(text)
        if target is not None:
            return _problem(scrape_date, page_row.source, page_row.url, None, "page", "redirect",
                            f"redirect page to {target!r}: not a playlist (its target is fetched under its own title)")
    try:
        page = _parse_text(text, page_row.content_type, title, page_row.source)
        lines, n_lines = _cap(page.tracklist_lines, thresholds.max_lines_per_page)
        capped = n_lines > thresholds.max_lines_per_page
        entries = parse_tracklist(lines, protected=protected)
        meta = parse_mix_title(page.title, page.categories, protected)
        cats = classify_categories(page.categories, meta.djs)
    except (RecursionError, MemoryError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        return _problem(scrape_date, page_row.source, page_row.url, None, "page", "parse_error",
                        f"{type(exc).__name__}: {str(exc)[:300]}")
    pid = make_playlist_id(page_row.source, page_key(page_row.source, page.title, page_row.url))
    key = {"playlist_id": pid, "source": page_row.source, "url": page_row.url, "scrape_date": scrape_date}
    problems = [_problem(scrape_date, page_row.source, page_row.url, pid, "line", rule, detail, e.line_no, e.raw_line)
                for e, rule, detail in quarantine(entries)]
    if capped:
        problems.append(_problem(scrape_date, page_row.source, page_row.url, pid, "page", "line_cap",
                                 f"{n_lines} tracklist lines; the first {thresholds.max_lines_per_page} were parsed "
                                 "(SONGNODES_MAX_LINES_PER_PAGE); the page is kept whole in bronze"))
    top = [e for e in entries if e.component_of is None]
    if page.has_tracklist_section and not top:
        problems.append(_problem(scrape_date, page_row.source, page_row.url, pid, "page", "empty_tracklist",
                                 "tracklist section with 0 parsed entries"))
    repeats = mark_repeats(top)
    playlist = {
        **key,
        "page_title": page.title,
        "mix_date": meta.mix_date.isoformat() if meta.mix_date else None,
        "date_precision": meta.date_precision,
        "djs": meta.djs,
        "show": meta.show,
        "venue": meta.venue,
        "is_live": meta.is_live,
        "categories": page.categories,
        "genres": cats["genres"],
        "entities": cats["entities"],
        "tracklist_status": page.tracklist_status,
        "has_tracklist_section": page.has_tracklist_section,
        **_entry_counts(top),
        "fetched_at": page_row.fetched_at,
        "sha256": page_row.sha256,
        "parser_version": PARSER_VERSION,
    }
    return _ParsedPage((page_row.fetched_at, page_row.sha256 or "", page_row.url), playlist, entries, problems,
                       repeats)


def _cap(lines: list[tuple[int, str]], cap: int) -> tuple[list[tuple[int, str]], int]:
    """The first ``cap`` non-blank lines (and the blank ones among them), and the count of non-blank lines."""
    kept, n = [], 0
    for item in lines:
        if item[1].strip():
            n += 1
            if n > cap:
                continue
        if n <= cap:
            kept.append(item)
    return kept, n


# Page problems that make a page count as bad for the systemic threshold; "redirect" and "line_cap" are
# notices (a redirect is how MediaWiki names aliases, a capped page still yields its first lines).
BAD_PAGE_PROBLEMS = ("parse_error", "empty_tracklist")
REPEAT_NOTE = "repeat of the previous entry: no self-loop edge"


def mark_repeats(top: list[Entry]) -> int:
    """A line naming the same track as the line right before it (same section) is flagged, not an edge:
    a DJ playing one record twice in a row is rare, an editor's slip or a re-pasted line is not. The chain
    continues from the first of the repeats, so A A B gives the one edge A -> B."""
    n = 0
    prev = None
    for e in top:
        if prev is not None and e.track_id is not None and e.track_id == prev.track_id \
                and e.section_index == prev.section_index:
            e.note = f"{e.note}; {REPEAT_NOTE}" if e.note else REPEAT_NOTE
            n += 1
        prev = e
    return n


def _entry_counts(top: list[Entry]) -> dict:
    return {"n_entries": len(top),
            "n_identified": sum(e.is_identified for e in top),
            "n_placeholders": sum(e.entry_type == "placeholder" for e in top),
            "n_gaps": sum(e.entry_type == "gap" for e in top),
            "n_unparsed": sum(e.entry_type in ("unparsed", "empty", QUARANTINED) for e in top),
            "n_mashups": sum(e.is_mashup for e in top)}


def build_silver(bronze: pd.DataFrame, scrape_date: str,
                 protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES,
                 thresholds: Thresholds = Thresholds()) -> SilverTables:
    """Silver tables of one partition from its bronze rows (bodies included)."""
    pages, skipped = latest_pages(bronze)
    return _build(pages.itertuples(index=False), len(pages), skipped, bronze, scrape_date, protected, thresholds)


def build_silver_streamed(lake, scrape_date: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES,
                          thresholds: Thresholds = Thresholds()) -> SilverTables:
    """Like ``build_silver`` but reads the partition's page bodies one small batch at a time, so memory holds
    the parsed rows and one batch of pages, never the whole day's bodies."""
    cols = [c for c in BRONZE_RAW.column_names if c != "body"]
    meta = lake.read(BRONZE_RAW, scrape_date, columns=cols)
    pages, skipped = latest_pages(meta)
    wanted = {(r.url, r.fetched_at.value, r.sha256) for r in pages.itertuples(index=False)}
    legacy = meta[meta["record_kind"] == "legacy_item"] if not meta.empty else meta
    legacy_full = lake.read_where(BRONZE_RAW, scrape_date, "record_kind", "legacy_item") if len(legacy) else legacy

    def rows():
        for row in lake.iter_rows(BRONZE_RAW, scrape_date, batch_size=8):
            if row["record_kind"] != "page":
                continue
            ident = (row["url"], pd.Timestamp(row["fetched_at"]).value, row["sha256"])
            if ident in wanted:
                wanted.discard(ident)  # the same fetch stored twice counts once
                row["fetched_at"] = pd.Timestamp(row["fetched_at"])
                yield SimpleNamespace(**row)

    return _build(rows(), len(pages), skipped, legacy_full, scrape_date, protected, thresholds)


def _build(page_rows, n_pages: int, skipped: int, bronze: pd.DataFrame, scrape_date: str, protected,
           thresholds: Thresholds) -> SilverTables:
    by_identity: dict[str, _ParsedPage] = {}
    problems: list[dict] = []
    duplicates = 0
    for page_row in page_rows:
        parsed = _parse_page_row(page_row, scrape_date, protected, thresholds)
        if isinstance(parsed, dict):
            problems.append(parsed)
            continue
        pid = parsed.playlist["playlist_id"]
        held = by_identity.get(pid)
        if held is not None:
            duplicates += 1  # the same mix under another URL (port, base URL, alias, raw vs HTML)
            if held.order >= parsed.order:
                continue
        by_identity[pid] = parsed
    playlists = [p.playlist for p in by_identity.values()]
    for p in by_identity.values():
        problems.extend(p.problems)
    repeats = [sum(p.repeats for p in by_identity.values())]
    legacy_rows: list[dict] = []
    legacy_counts = _add_legacy(bronze, scrape_date, protected, playlists, legacy_rows, problems, repeats)
    pl = SILVER_PLAYLISTS.conform(playlists) if playlists else _empty(SILVER_PLAYLISTS)
    pt_full = _entry_frame(list(by_identity.values()), legacy_rows)
    by_identity.clear()
    del legacy_rows
    if pt_full.empty:
        pt = _empty(SILVER_PLAYLIST_TRACKS)
        tracks = _empty(SILVER_TRACKS)
        transitions = _empty(SILVER_TRANSITIONS)
    else:
        tracks = _tracks(pt_full, scrape_date)
        in_playlists = pt_full[pt_full["playlist_id"] != UNLINKED]  # legacy tracks without a playlist
        transitions = _transitions(in_playlists, scrape_date) if not in_playlists.empty else _empty(SILVER_TRANSITIONS)
        pt = SILVER_PLAYLIST_TRACKS.conform(_order(in_playlists.drop(columns=["_fetched_at"]), SILVER_PLAYLIST_TRACKS))
        pt = pt.sort_values(["playlist_id", "line_no", "component_index"], na_position="first").reset_index(drop=True)
    pl = pl.sort_values("playlist_id").reset_index(drop=True) if not pl.empty else pl
    prob = SILVER_PROBLEMS.conform(problems) if problems else _empty(SILVER_PROBLEMS)
    prob = prob.sort_values(["url", "scope", "line_no", "problem"], na_position="first").reset_index(drop=True)
    top = pt[pt["component_of"].isna()] if not pt.empty else pt
    stats = {
        "pages": n_pages,
        "duplicate_fetches": duplicates,
        "lines": int(len(top)),
        "credited_lines": int(top["entry_type"].isin(["track", "mashup", QUARANTINED]).sum()) if len(top) else 0,
        "quarantined_lines": int((prob["scope"] == "line").sum()) if len(prob) else 0,
        "bad_pages": int(prob.loc[prob["problem"].isin(BAD_PAGE_PROBLEMS), "url"].nunique()) if len(prob) else 0,
        "repeated_lines": repeats[0],
    }
    return SilverTables(pl, pt, tracks, transitions, skipped, legacy_counts, prob, stats)


UNLINKED = "legacy:unlinked"
SAME_DAY_PAGE = "skipped: page fetched the same day"


def _add_legacy(bronze: pd.DataFrame, scrape_date: str, protected, playlists: list, entries_rows: list,
                problems: list, repeats: list) -> dict:
    """Old SongNodes items (record_kind legacy_item): each mix becomes a playlist whose rebuilt tracklist goes
    through the same parser as fetched pages; tracks without a mix only feed silver.tracks. Returns the
    per-scrape-type counts of items used and skipped (with reasons)."""
    if bronze.empty or "record_kind" not in bronze:
        return {}
    legacy = bronze[bronze["record_kind"] == "legacy_item"]
    if legacy.empty:
        return {}
    legacy = legacy.sort_values(["url", "fetched_at"]).drop_duplicates("url", keep="last")
    items = []
    for r in legacy.itertuples(index=False):
        stype = (r.content_type or "").split("scrape_type=")[-1].strip()
        try:
            raw = json.loads(r.body)
        except (ValueError, TypeError):
            raw = None  # counted as "not a JSON object"
        items.append((stype, raw, r.fetched_at, r.source))
    day = map_items(items)
    fetched = {p["playlist_id"] for p in playlists}
    for source_and_key in sorted(day.mixes):
        m = day.mixes[source_and_key]
        key = m.key
        # a MixesDB mix keeps the id a fetch of its page gets (the name is the page title)
        pid = (make_playlist_id("mixesdb", canonical_wiki_title(key)) if m.source == "legacy:mixesdb"
               else make_playlist_id(m.source, key))
        if pid in fetched:  # the page itself was fetched this day: its tracklist is the source, not the old items
            mix_counts = day.counts.setdefault("mix", {})
            mix_counts[SAME_DAY_PAGE] = mix_counts.get(SAME_DAY_PAGE, 0) + 1
            continue
        f = mix_fields(m)
        meta = parse_mix_title(f["title"], [], protected)
        lines = m.tracklist()
        entries = parse_tracklist(lines, protected=protected)
        row_url = f"legacy://playlist/{key}"
        problems.extend(_problem(scrape_date, m.source, row_url, pid, "line", rule, detail, e.line_no, e.raw_line)
                        for e, rule, detail in quarantine(entries))
        date = f["date"] or (meta.mix_date.isoformat() if meta.mix_date else None)
        row_key = {"playlist_id": pid, "source": m.source, "url": row_url, "scrape_date": scrape_date}
        top = [e for e in entries if e.component_of is None]
        repeats[0] += mark_repeats(top)
        fetched_at = max(at for at, _ in m.metas) if m.metas else m.first_seen
        playlists.append({**row_key, "page_title": f["title"], "mix_date": date,
                          "date_precision": "day" if f["date"] else meta.date_precision,
                          "djs": _legacy_djs(f["dj"], f["title"], meta), "show": f["show"] or meta.show,
                          "venue": f["venue"] or meta.venue, "is_live": meta.is_live, "categories": [],
                          "genres": f["genres"], "entities": [], "tracklist_status": None,
                          "has_tracklist_section": bool(lines), **_entry_counts(top),
                          "fetched_at": fetched_at, "sha256": None,
                          "parser_version": PARSER_VERSION})
        for e in entries:
            entries_rows.append({**row_key, **_entry_dict(e), "parser_version": PARSER_VERSION, "_fetched_at": fetched_at})
    for line, fetched_at, source in day.standalone:
        standalone = parse_tracklist([line], protected=protected)
        problems.extend(_problem(scrape_date, source, "legacy://enhancedtrack", None, "line", rule, detail,
                                 e.line_no, e.raw_line) for e, rule, detail in quarantine(standalone))
        for e in standalone:
            entries_rows.append({"playlist_id": UNLINKED, "source": source, "url": "legacy://enhancedtrack",
                                 "scrape_date": scrape_date, **_entry_dict(e), "parser_version": PARSER_VERSION,
                                 "_fetched_at": fetched_at})
    return day.counts


def _legacy_djs(field_dj: str, title: str, meta) -> list[str]:
    """A structured title ("YYYY-MM-DD - DJ A & DJ B - Show") splits DJs as for fetched pages; otherwise
    the item's DJ field."""
    if meta.mix_date and meta.djs:
        return list(meta.djs)
    if field_dj and fold(field_dj) != fold(title):  # the old scraper put the whole title there when unsure
        return [field_dj]
    return list(meta.djs)


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _entry_frame(pages: list[_ParsedPage], legacy_rows: list[dict]) -> pd.DataFrame:
    """All entries of the day as one frame, built column by column (no dict per row): the playlist key, every
    entry field (a new parser field becomes a column, so the contract rejects it), parser_version, _fetched_at;
    the legacy items' rows after the pages' rows."""
    names = list(entry_field_names())  # + the fields of any entry subclass a parser emits (the contract rejects them)
    for kind in {type(e) for p in pages for e in p.entries} - {Entry}:
        names += [n for n in _field_names(kind) if n not in names]
    counts = [len(p.entries) for p in pages]
    cols: dict[str, list] = {}
    for k in ("playlist_id", "source", "url", "scrape_date"):
        cols[k] = [v for p, n in zip(pages, counts) for v in [p.playlist[k]] * n]
    for name in names:
        cols[name] = [getattr(e, name, None) for p in pages for e in p.entries]
    cols["parser_version"] = [PARSER_VERSION] * sum(counts)
    cols["_fetched_at"] = [v for p, n in zip(pages, counts) for v in [p.playlist["fetched_at"]] * n]
    frame = pd.DataFrame(cols) if sum(counts) else pd.DataFrame()
    if legacy_rows:
        legacy = pd.DataFrame(legacy_rows)
        frame = pd.concat([frame, legacy], ignore_index=True) if len(frame) else legacy
    return frame


def _entry_dict(entry: Entry) -> dict:
    """Shallow dict of an entry, every dataclass field included (a new parser field shows up as a column)."""
    return {name: getattr(entry, name) for name in _field_names(type(entry))}


def _order(df: pd.DataFrame, spec) -> pd.DataFrame:
    """Put known columns in contract order; unknown columns stay (at the end) so validation names them."""
    known = [c for c in spec.column_names if c in df.columns]
    extra = [c for c in df.columns if c not in spec.column_names]
    return df[known + extra]


def _empty(spec) -> pd.DataFrame:
    return spec.conform(pd.DataFrame({c: pd.Series([], dtype=object) for c in spec.column_names}))


def _tracks(pt: pd.DataFrame, scrape_date: str) -> pd.DataFrame:
    """One row per identified track id: attributes of its first sighting, first label/catalog number seen."""
    ident = pt[pt["is_identified"] & pt["track_id"].notna()]
    if ident.empty:
        return _empty(SILVER_TRACKS)
    ident = ident.sort_values(["_fetched_at", "playlist_id", "line_no", "component_index"], na_position="first",
                              kind="stable")
    first = ident.drop_duplicates("track_id", keep="first").set_index("track_id")
    counts = ident.groupby("track_id").size()
    labels = ident.dropna(subset=["label"]).drop_duplicates("track_id").set_index("track_id")["label"]
    catnos = ident.dropna(subset=["catalog_number"]).drop_duplicates("track_id").set_index("track_id")["catalog_number"]
    out = pd.DataFrame({
        "track_id": first.index, "artists": first["artists"].values, "featured": first["featured"].values,
        "title": first["title"].values, "remixers": first["remixers"].values, "version": first["version"].values,
        "label": labels.reindex(first.index).values, "catalog_number": catnos.reindex(first.index).values,
        "is_mashup": first["is_mashup"].astype(bool).values, "first_seen_at": first["_fetched_at"].values,
        "first_seen_playlist_id": first["playlist_id"].values, "n_occurrences": counts.reindex(first.index).values,
        "scrape_date": scrape_date, "parser_version": PARSER_VERSION,
    })
    out = out.astype({"label": object, "catalog_number": object})
    out = out.where(out.notna(), None)
    return SILVER_TRACKS.conform(out).sort_values("track_id").reset_index(drop=True)


def _transitions(pt: pd.DataFrame, scrape_date: str) -> pd.DataFrame:
    """Edges between consecutive top-level entries of one section; only when both are identified
    (a placeholder, gap, unparsed or quarantined line between two tracks breaks the chain), never A -> A."""
    top = pt[pt["component_of"].isna()].sort_values(["playlist_id", "section_index", "position"], kind="stable")
    grp = top.groupby(["playlist_id", "section_index"], sort=False)
    prev_id = grp["track_id"].shift(1)
    prev_ok = grp["is_identified"].shift(1).astype("boolean").fillna(False).astype(bool)
    prev_pos = grp["position"].shift(1)
    prev_line = grp["line_no"].shift(1)
    mask = top["is_identified"].astype(bool) & prev_ok & top["track_id"].notna() & prev_id.notna()
    mask &= prev_id != top["track_id"]  # a repeated line is flagged (mark_repeats), never a self-loop edge
    if not mask.any():
        return _empty(SILVER_TRANSITIONS)
    edges = pd.DataFrame({
        "from_track_id": prev_id[mask].values, "to_track_id": top.loc[mask, "track_id"].values,
        "playlist_id": top.loc[mask, "playlist_id"].values, "section_index": top.loc[mask, "section_index"].values,
        "from_position": prev_pos[mask].astype("int64").values, "to_position": top.loc[mask, "position"].values,
        "from_line_no": prev_line[mask].astype("int64").values, "to_line_no": top.loc[mask, "line_no"].values,
        "scrape_date": scrape_date, "parser_version": PARSER_VERSION,
    })
    return SILVER_TRANSITIONS.conform(edges).reset_index(drop=True)


def entry_fields() -> list[str]:
    """Fields the parser emits per entry (the contract must know every one of them)."""
    return list(entry_field_names())
