"""Bronze rows of one partition -> the four silver tables. Pure: same bronze + parser version in,
same rows out (sorted, deduplicated), so re-materialising a partition never changes or inflates it."""

from __future__ import annotations

import codecs
import dataclasses
import functools
import json
import re
from dataclasses import dataclass
import pandas as pd

from .ids import playlist_id as make_playlist_id
from .legacy import map_items, mix_fields
from .parsing.credits import DEFAULT_PROTECTED_NAMES
from .parsing.mix_title import classify_categories, parse_mix_title
from .parsing.mixesdb_page import MixPage, parse_rendered_html, parse_wikitext, title_from_url
from .parsing.text import fold
from .parsing.tracklist import PARSER_VERSION, Entry, parse_tracklist
from .parsing.tracklists1001 import parse_1001tracklists
from .schemas import SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS, SILVER_TRANSITIONS


@dataclass
class SilverTables:
    playlists: pd.DataFrame
    playlist_tracks: pd.DataFrame
    tracks: pd.DataFrame
    transitions: pd.DataFrame
    pages_skipped: int  # bronze rows that are fetch errors (kept in bronze, not parsed)
    legacy_counts: dict = dataclasses.field(default_factory=dict)  # imported old items: used / skipped per type


def latest_pages(bronze: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The newest successful fetch of each URL in the partition, and the count of error rows."""
    if bronze.empty:
        return bronze, 0
    bronze = bronze[bronze["record_kind"] == "page"]  # imported legacy items are handled by _add_legacy
    ok = bronze[(bronze["status"].fillna(0) == 200) & bronze["error_kind"].isna() & bronze["body"].notna()]
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
    if source == "1001tracklists":
        return parse_1001tracklists(text, title)
    ctype = (content_type or "").lower()
    if "html" in ctype or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        return parse_rendered_html(text, title)
    return parse_wikitext(text, title)


def build_silver(bronze: pd.DataFrame, scrape_date: str,
                 protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES) -> SilverTables:
    pages, skipped = latest_pages(bronze)
    playlists: list[dict] = []
    entries_rows: list[dict] = []
    for page_row in pages.itertuples(index=False):
        title = page_row.page_title or title_from_url(page_row.url)
        page = parse_page(page_row.body, page_row.content_type, title, page_row.source)
        entries = parse_tracklist(page.tracklist_lines, protected=protected)
        meta = parse_mix_title(page.title, page.categories, protected)
        cats = classify_categories(page.categories, meta.djs)
        pid = make_playlist_id(page_row.source, page.title if page_row.source == "mixesdb" else page_row.url)
        key = {"playlist_id": pid, "source": page_row.source, "url": page_row.url, "scrape_date": scrape_date}
        top = [e for e in entries if e.component_of is None]
        playlists.append({
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
            "n_entries": len(top),
            "n_identified": sum(e.is_identified for e in top),
            "n_placeholders": sum(e.entry_type == "placeholder" for e in top),
            "n_gaps": sum(e.entry_type == "gap" for e in top),
            "n_unparsed": sum(e.entry_type in ("unparsed", "empty") for e in top),
            "n_mashups": sum(e.is_mashup for e in top),
            "fetched_at": page_row.fetched_at,
            "sha256": page_row.sha256,
            "parser_version": PARSER_VERSION,
        })
        for e in entries:
            entries_rows.append({**key, **_entry_dict(e), "parser_version": PARSER_VERSION,
                                 "_fetched_at": page_row.fetched_at})

    legacy_counts = _add_legacy(bronze, scrape_date, protected, playlists, entries_rows)
    pl = SILVER_PLAYLISTS.conform(playlists) if playlists else _empty(SILVER_PLAYLISTS)
    pt_full = pd.DataFrame(entries_rows)
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
    return SilverTables(pl, pt, tracks, transitions, skipped, legacy_counts)


UNLINKED = "legacy:unlinked"
SAME_DAY_PAGE = "skipped: page fetched the same day"


def _add_legacy(bronze: pd.DataFrame, scrape_date: str, protected, playlists: list, entries_rows: list) -> dict:
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
        pid = make_playlist_id("mixesdb", key) if m.source == "legacy:mixesdb" else make_playlist_id(m.source, key)
        if pid in fetched:  # the page itself was fetched this day: its tracklist is the source, not the old items
            mix_counts = day.counts.setdefault("mix", {})
            mix_counts[SAME_DAY_PAGE] = mix_counts.get(SAME_DAY_PAGE, 0) + 1
            continue
        f = mix_fields(m)
        meta = parse_mix_title(f["title"], [], protected)
        lines = m.tracklist()
        entries = parse_tracklist(lines, protected=protected)
        date = f["date"] or (meta.mix_date.isoformat() if meta.mix_date else None)
        row_key = {"playlist_id": pid, "source": m.source, "url": f"legacy://playlist/{key}", "scrape_date": scrape_date}
        top = [e for e in entries if e.component_of is None]
        fetched_at = max(at for at, _ in m.metas) if m.metas else m.first_seen
        playlists.append({**row_key, "page_title": f["title"], "mix_date": date,
                          "date_precision": "day" if f["date"] else meta.date_precision,
                          "djs": _legacy_djs(f["dj"], f["title"], meta), "show": f["show"] or meta.show,
                          "venue": f["venue"] or meta.venue, "is_live": meta.is_live, "categories": [],
                          "genres": f["genres"], "entities": [], "tracklist_status": None,
                          "has_tracklist_section": bool(lines), "n_entries": len(top),
                          "n_identified": sum(e.is_identified for e in top),
                          "n_placeholders": sum(e.entry_type == "placeholder" for e in top),
                          "n_gaps": sum(e.entry_type == "gap" for e in top),
                          "n_unparsed": sum(e.entry_type in ("unparsed", "empty") for e in top),
                          "n_mashups": sum(e.is_mashup for e in top), "fetched_at": fetched_at, "sha256": None,
                          "parser_version": PARSER_VERSION})
        for e in entries:
            entries_rows.append({**row_key, **_entry_dict(e), "parser_version": PARSER_VERSION, "_fetched_at": fetched_at})
    for line, fetched_at, source in day.standalone:
        for e in parse_tracklist([line], protected=protected):
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
    (a placeholder, gap or unparsed line between two tracks breaks the chain)."""
    top = pt[pt["component_of"].isna()].sort_values(["playlist_id", "section_index", "position"], kind="stable")
    grp = top.groupby(["playlist_id", "section_index"], sort=False)
    prev_id = grp["track_id"].shift(1)
    prev_ok = grp["is_identified"].shift(1).astype("boolean").fillna(False).astype(bool)
    prev_pos = grp["position"].shift(1)
    prev_line = grp["line_no"].shift(1)
    mask = top["is_identified"].astype(bool) & prev_ok & top["track_id"].notna() & prev_id.notna()
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
    return [f.name for f in dataclasses.fields(Entry)]
