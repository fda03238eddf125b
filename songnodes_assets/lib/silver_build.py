"""Bronze rows of one partition -> the four silver tables. Pure: same bronze + parser version in,
same rows out (sorted, deduplicated), so re-materialising a partition never changes or inflates it."""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import gc
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa

from . import contracts, silver_spill

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
from .silver_spill import UNLINKED, EntrySpill
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
    """Silver tables of one partition from its bronze rows (bodies included), as frames (small days, tests)."""
    pages, skipped = latest_pages(bronze)
    with SilverDay(pages.itertuples(index=False), len(pages), skipped, bronze, scrape_date, protected,
                   thresholds) as day:
        return day.collect()


def stream_silver(lake, scrape_date: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES,
                  thresholds: Thresholds = Thresholds()) -> "SilverDay":
    """The partition's silver, built in bounded memory: page bodies read a small batch at a time from bronze,
    entries spilled to disk, the big tables streamed in batches. Use the result as a context manager."""
    cols = [c for c in BRONZE_RAW.column_names if c != "body"]
    meta = lake.read(BRONZE_RAW, scrape_date, columns=cols)
    pages, skipped = latest_pages(meta)
    wanted = {(r.url, r.fetched_at.value, r.sha256) for r in pages.itertuples(index=False)}
    legacy = meta[meta["record_kind"] == "legacy_item"] if not meta.empty else meta
    legacy_full = lake.read_where(BRONZE_RAW, scrape_date, "record_kind", "legacy_item") if len(legacy) else legacy
    del meta

    def rows():
        for row in lake.iter_rows(BRONZE_RAW, scrape_date, batch_size=8):
            if row["record_kind"] != "page":
                continue
            ident = (row["url"], pd.Timestamp(row["fetched_at"]).value, row["sha256"])
            if ident in wanted:
                wanted.discard(ident)  # the same fetch stored twice counts once
                row["fetched_at"] = pd.Timestamp(row["fetched_at"])
                yield SimpleNamespace(**row)

    return SilverDay(rows(), len(pages), skipped, legacy_full, scrape_date, protected, thresholds)


def build_silver_streamed(lake, scrape_date: str, protected: tuple[str, ...] = DEFAULT_PROTECTED_NAMES,
                          thresholds: Thresholds = Thresholds()) -> SilverTables:
    """``stream_silver`` collected into frames (the same rows as ``build_silver`` on the same bronze)."""
    with stream_silver(lake, scrape_date, protected, thresholds) as day:
        return day.collect()


@dataclass
class _PageRecord:
    order: tuple
    seq: int
    playlist: dict
    problems: list[dict]
    repeats: int


BATCH_ROWS = 50_000
_ARROW_TO_PANDAS = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}


class SilverDay:
    """One partition's silver. Parsing happens on construction: playlists, problems and the day's counts are in
    memory (one row per page or bad line), the entries in a spill file; ``playlist_tracks()``, ``tracks()`` and
    ``transitions()`` stream their tables as contract-validated arrow tables in key order, and record the
    row-level contract violations they meet in ``violations``. The work folder goes when the context exits."""

    def __init__(self, page_rows, n_pages: int, skipped: int, bronze: pd.DataFrame, scrape_date: str, protected,
                 thresholds: Thresholds, batch_rows: int | None = None):
        self.scrape_date, self.pages_skipped, self.batch_rows = scrape_date, skipped, batch_rows or BATCH_ROWS
        self._tmp = tempfile.TemporaryDirectory(prefix="songnodes-silver-")
        self.violations: dict[str, list[str]] = {"no_cue_or_position_in_artists": [], "no_label_in_titles": [],
                                                 "no_self_loops": []}
        self.row_counts: dict[str, int] = {}
        try:
            with _gc_paused():
                self._parse(page_rows, n_pages, bronze, protected, thresholds)
        except BaseException:
            self.close()
            raise

    def _parse(self, page_rows, n_pages, bronze, protected, thresholds) -> None:
        work = Path(self._tmp.name)
        spill = EntrySpill(work, entry_field_names(), PARSER_VERSION)
        by_identity: dict[str, _PageRecord] = {}
        problems: list[dict] = []
        duplicates = 0
        try:
            for seq, page_row in enumerate(page_rows):
                parsed = _parse_page_row(page_row, self.scrape_date, protected, thresholds)
                if isinstance(parsed, dict):
                    problems.append(parsed)
                    continue
                pid = parsed.playlist["playlist_id"]
                held = by_identity.get(pid)
                if held is not None:
                    duplicates += 1  # the same mix under another URL (port, base URL, alias, raw vs HTML)
                    if held.order >= parsed.order:
                        continue
                spill.add(parsed.playlist, parsed.entries, parsed.playlist["fetched_at"], seq)
                by_identity[pid] = _PageRecord(parsed.order, seq, parsed.playlist, parsed.problems, parsed.repeats)
            playlists = [p.playlist for p in by_identity.values()]
            for p in by_identity.values():
                problems.extend(p.problems)
            repeats = [sum(p.repeats for p in by_identity.values())]
            winners = [p.seq for p in by_identity.values()] + [LEGACY_SEQ]
            by_identity.clear()
            self.legacy_counts = _add_legacy(bronze, self.scrape_date, protected, playlists, spill, problems,
                                             repeats)
        finally:
            spill.close()
        pl = SILVER_PLAYLISTS.conform(playlists) if playlists else _empty(SILVER_PLAYLISTS)
        self.playlists = pl.sort_values("playlist_id").reset_index(drop=True) if not pl.empty else pl
        prob = SILVER_PROBLEMS.conform(problems) if problems else _empty(SILVER_PROBLEMS)
        self.problems = prob.sort_values(["url", "scope", "line_no", "problem"],
                                         na_position="first").reset_index(drop=True)
        self._con = silver_spill.connect(work, spill.path, winners)
        cols = ("lines", "credited_lines", "identified", "placeholders", "non_gap", "non_gap_with_artist")
        counts = dict(zip(cols, self._con.execute(silver_spill.summary_sql()).fetchone()))
        self.line_counts = {k: int(v or 0) for k, v in counts.items()}
        self.violations["unique_entry_keys"] = [
            contracts.duplicate_key_message({"playlist_id": pid, "line_no": line, "component_index": comp}, n)
            for pid, line, comp, n in self._con.execute(silver_spill.duplicate_keys_sql()).fetchall()]
        self.stats = {
            "pages": n_pages,
            "duplicate_fetches": duplicates,
            "lines": self.line_counts["lines"],
            "credited_lines": self.line_counts["credited_lines"],
            "quarantined_lines": int((self.problems["scope"] == "line").sum()) if len(self.problems) else 0,
            "bad_pages": int(self.problems.loc[self.problems["problem"].isin(BAD_PAGE_PROBLEMS), "url"].nunique())
            if len(self.problems) else 0,
            "repeated_lines": repeats[0],
        }

    def _stream(self, name: str, spec, sql: str, params: dict | None = None):
        """The query's rows as arrow tables of at most ``batch_rows`` rows, each validated against ``spec``."""
        reader = self._con.sql(sql, params=params or {}).to_arrow_reader(self.batch_rows)
        self.row_counts[name] = 0
        for batch in reader:
            if batch.num_rows:
                self.row_counts[name] += batch.num_rows
                yield spec.validate_arrow(pa.Table.from_batches([batch]))

    def playlist_tracks(self):
        """Every entry of every playlist, in (playlist_id, line_no, component_index) order."""
        for table in self._stream("playlist_tracks", SILVER_PLAYLIST_TRACKS, silver_spill.playlist_tracks_sql()):
            checked = _to_pandas(table.select(["url", "line_no", "outcome", "artists", "featured", "remixers", "title",
                                               "title_full"]))
            self.violations["no_cue_or_position_in_artists"] += contracts.markers_in_artists(checked)
            self.violations["no_label_in_titles"] += contracts.labels_in_titles(checked)
            yield table

    def tracks(self):
        """One row per identified track id first seen in the partition, in track_id order."""
        yield from self._stream("tracks", SILVER_TRACKS, silver_spill.tracks_sql(), self._params())

    def transitions(self):
        """DJ transitions of the partition, in (playlist_id, section_index, position) order."""
        for table in self._stream("transitions", SILVER_TRANSITIONS, silver_spill.transitions_sql(),
                                  self._params()):
            self.violations["no_self_loops"] += contracts.self_loops(
                table.select(["playlist_id", "from_track_id", "to_track_id", "to_line_no"]).to_pandas())
            yield table

    def _params(self) -> dict:
        return {"scrape_date": self.scrape_date, "parser_version": PARSER_VERSION}

    def collect(self) -> SilverTables:
        """All tables as frames (for days that fit in memory: tests, small tools)."""
        frames = {name: _concat([spec.conform(_to_pandas(t)) for t in getattr(self, name)()], spec) for name, spec in
                  (("playlist_tracks", SILVER_PLAYLIST_TRACKS), ("tracks", SILVER_TRACKS),
                   ("transitions", SILVER_TRANSITIONS))}
        return SilverTables(self.playlists, frames["playlist_tracks"], frames["tracks"], frames["transitions"],
                            self.pages_skipped, self.legacy_counts, self.problems, dict(self.stats))

    def close(self) -> None:
        con = getattr(self, "_con", None)
        if con is not None:
            con.close()
            self._con = None
        self._tmp.cleanup()

    def __enter__(self) -> "SilverDay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def _gc_paused():
    """The cyclic collector off while a day is parsed: parsing makes millions of short-lived, acyclic objects,
    and the collector's passes over them cost about a fifth of the parse; it is back on (as it was) after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _to_pandas(batch: pa.Table) -> pd.DataFrame:
    """Nullable pandas dtypes straight from arrow; list columns as Python lists (what the contract holds)."""
    lists = [i for i, f in enumerate(batch.schema) if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)]
    frame = batch.drop_columns([batch.schema.names[i] for i in lists]).to_pandas(types_mapper=_ARROW_TO_PANDAS.get)
    for i in lists:
        frame.insert(i, batch.schema.names[i], pd.Series(batch.column(i).to_pylist(), index=frame.index, dtype=object))
    return frame


def _concat(frames: list[pd.DataFrame], spec) -> pd.DataFrame:
    if not frames:
        return _empty(spec)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


LEGACY_SEQ = -1  # the page ordinal of imported items' entries (always kept)
SAME_DAY_PAGE = "skipped: page fetched the same day"


def _add_legacy(bronze: pd.DataFrame, scrape_date: str, protected, playlists: list, spill: EntrySpill,
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
        spill.add(row_key, entries, fetched_at, LEGACY_SEQ)
    for line, fetched_at, source in day.standalone:
        standalone = parse_tracklist([line], protected=protected)
        problems.extend(_problem(scrape_date, source, "legacy://enhancedtrack", None, "line", rule, detail,
                                 e.line_no, e.raw_line) for e, rule, detail in quarantine(standalone))
        spill.add({"playlist_id": UNLINKED, "source": source, "url": "legacy://enhancedtrack",
                   "scrape_date": scrape_date}, standalone, fetched_at, LEGACY_SEQ)
    return day.counts


def _legacy_djs(field_dj: str, title: str, meta) -> list[str]:
    """A structured title ("YYYY-MM-DD - DJ A & DJ B - Show") splits DJs as for fetched pages; otherwise
    the item's DJ field."""
    if meta.mix_date and meta.djs:
        return list(meta.djs)
    if field_dj and fold(field_dj) != fold(title):  # the old scraper put the whole title there when unsure
        return [field_dj]
    return list(meta.djs)


def _empty(spec) -> pd.DataFrame:
    return spec.conform(pd.DataFrame({c: pd.Series([], dtype=object) for c in spec.column_names}))


def entry_fields() -> list[str]:
    """Fields the parser emits per entry (the contract must know every one of them)."""
    return list(entry_field_names())
