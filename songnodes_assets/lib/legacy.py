"""Import of the old SongNodes ``raw_scrape_data`` table (PostgreSQL) into bronze, and its silver mapping.

The old rows are **parsed items**, not pages. The old scrapers stored every Scrapy item as
``json.dumps(dict(item))`` with ``scrape_type`` = the item class name without "Item", lower-cased:

- ``playlist`` / ``enhancedsetlist`` / ``setlist``: a mix (name = the MixesDB page title, DJ, date, venue;
  ``playlist`` rows may carry ``tracks``, a list of titles or of {artist, title} objects);
- ``enhancedsetlisttrack`` / ``setlisttrack`` / ``playlisttrack``: one position of a mix, linked by the
  mix *name* (``setlist_name``) and ``track_order``; usually the title only, without the artist;
- ``enhancedtrack`` / ``track``: a track with the raw tracklist line in ``metadata.original_string`` /
  ``source_context``, its mix in ``metadata.mix_context`` and ``position_in_source`` (``metadata`` is
  itself a JSON *string* inside the JSON);
- ``enhancedtrackartist``, ``enhancedartist``, ``enhancedtrackadjacency``, …: not mapped (credits without a
  mix or position; the old adjacency edges were inflated, transitions are recomputed from positions).

In bronze they keep ``record_kind = 'legacy_item'`` and their JSON. Silver rebuilds each mix's tracklist from
the best line known for each position (the raw "Artist - Title" line, else artist and title fields, else the
title alone, which the parser keeps as an unidentified entry) and feeds the lines to the same parser as
fetched pages, so old and new data share track ids. Missing positions become gap entries, so no transition
is invented across them; re-scraped items of a position keep the newest. Every item is counted as used or
skipped with a reason (``LegacyDay.counts``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PLAYLIST_TYPES = frozenset({"playlist", "enhancedsetlist", "setlist"})
POSITION_TYPES = frozenset({"enhancedsetlisttrack", "setlisttrack", "playlisttrack"})
TRACK_TYPES = frozenset({"enhancedtrack", "track"})
NOT_MAPPED = {
    "enhancedtrackadjacency": "old edges not trusted: transitions are recomputed from positions",
    "enhancedtrackartist": "credit without mix or position: artists come from the track lines",
    "enhancedartist": "artist record: artists come from the track lines",
}
IMPORTER_VERSION = "legacy-import/2"
GAP_LINE = "..."  # the parser's gap entry: breaks the transition chain where positions are missing


# ---- reading the old table -------------------------------------------------------------------------

def read_day(dsn: str, table: str, day: str, timezone: str = "UTC", statement_timeout_s: float = 600,
             batch_size: int = 2000) -> Iterator[dict]:
    """Rows of the old table whose ``scraped_at`` falls on ``day`` (a UTC day), streamed from a read-only,
    server-side cursor. ``timezone`` is the zone naive ``scraped_at`` values were written in (the old scrapers
    wrote ``datetime.now()``, local time); every yielded ``scraped_at`` is UTC-aware. All columns of the row
    are read (``to_jsonb``), so table variants with ``id`` or without ``source_url`` import alike. The table
    name is quoted as an identifier and the values are bound parameters: nothing from configuration or data
    is interpolated into SQL."""
    from psycopg2 import sql

    try:
        ZoneInfo(timezone)  # a clear error before connecting (PostgreSQL would reject it too)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"SONGNODES_LEGACY_TIMEZONE={timezone!r} is not a time zone name (e.g. UTC, Europe/Berlin)") from exc
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    ident = sql.SQL(".").join(sql.Identifier(p) for p in table.split("."))
    # PostgreSQL turns scraped_at into an instant (naive values in the session zone), for the day's bounds and
    # for fetched_at alike: one set of zone rules decides both, also in the repeated hour of a DST change.
    query = sql.SQL("SELECT to_jsonb(t), extract(epoch FROM t.scraped_at::timestamptz) FROM {} AS t "
                    "WHERE t.scraped_at >= %s AND t.scraped_at < %s ORDER BY t.scraped_at").format(ident)
    with contextlib.closing(connect_old_database(dsn)) as con:
        con.set_session(readonly=True)
        with con.cursor() as cur:  # naive timestamps are compared (and rendered) in the old writers' zone
            cur.execute("SELECT set_config('TimeZone', %s, false), set_config('statement_timeout', %s, false)",
                        (timezone, str(int(statement_timeout_s * 1000))))
        with con.cursor(name=f"songnodes_legacy_{uuid.uuid4().hex[:8]}") as cur:
            cur.itersize = batch_size
            cur.execute(query, (start, start + dt.timedelta(days=1)))
            for record, epoch in cur:
                yield _legacy_row(record, dt.datetime.fromtimestamp(float(epoch), dt.timezone.utc))
        con.rollback()


def connect_old_database(dsn: str):
    """A psycopg2 connection; errors say what is wrong without repeating the connection string, whose
    password must reach no log, event or alert (``from None``: the driver's message is not chained)."""
    import psycopg2
    from psycopg2.extensions import parse_dsn

    try:
        password = parse_dsn(dsn).get("password") or ""
    except psycopg2.ProgrammingError:  # libpq would quote a fragment of it back
        raise ValueError("SONGNODES_LEGACY_PG_DSN is not a libpq connection string (key=value pairs, values with "
                         "spaces in single quotes, or a postgresql:// URI)") from None
    try:
        return psycopg2.connect(dsn, connect_timeout=10)
    except psycopg2.Error as exc:
        message = str(exc).strip().replace(password, "***") if password else str(exc).strip()
        raise ConnectionError(f"cannot connect to the old database: {message}") from None


def _legacy_row(record: dict, scraped: dt.datetime) -> dict:
    scrape_id = record.get("scrape_id", record.get("id"))
    if scrape_id is None:  # no id column: the row's own content identifies it
        scrape_id = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return {"scrape_id": str(scrape_id), "source": record.get("source"), "scrape_type": record.get("scrape_type"),
            "source_url": record.get("source_url") or None, "raw_data": record.get("raw_data"), "scraped_at": scraped}


def decode_json(value, max_depth: int = 3):
    """The JSON value itself, also when it was stored as a JSON-encoded string (once or more)."""
    for _ in range(max_depth):
        if not isinstance(value, str) or value.strip()[:1] not in ("{", "[", '"'):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def to_bronze_rows(items: list[dict], day: str, run_id: str) -> list[dict]:
    """Bronze rows for old items: the item's JSON (decoded if it was stored double-encoded, re-serialised
    with sorted keys; text that is not JSON is kept under ``_unparsed``), its scrape type, source and time."""
    rows = []
    for it in items:
        raw = decode_json(it.get("raw_data"))
        if isinstance(raw, str):
            raw = {"_unparsed": raw}
        body = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
        stype = str(it.get("scrape_type") or "unknown").strip().lower()
        rows.append({"scrape_date": day, "source": f"legacy:{it.get('source') or 'unknown'}", "record_kind": "legacy_item",
                     "url": f"legacy://{stype}/{it['scrape_id']}", "final_url": it.get("source_url"),
                     "page_title": _mix_title(raw) if isinstance(raw, dict) else None, "status": None,
                     "content_type": f"application/json; scrape_type={stype}", "headers_json": None,
                     "fetched_at": it["scraped_at"], "sha256": hashlib.sha256(body).hexdigest(), "body": body,
                     "body_bytes": len(body), "error_kind": None, "error": None, "attempts": None, "elapsed_ms": None,
                     "fetcher_version": IMPORTER_VERSION, "run_id": run_id})
    return rows


# ---- mapping items to mixes and lines --------------------------------------------------------------

@dataclass
class LegacyMix:
    key: str
    source: str
    metas: list[tuple[dt.datetime, dict]] = field(default_factory=list)  # its playlist/setlist items
    # position -> (quality, fetched_at, line); quality 3 = raw line, 2 = artist + title fields, 1 = title only
    lines: dict[int, tuple[int, dt.datetime, str]] = field(default_factory=dict)
    unnumbered: dict[str, dt.datetime] = field(default_factory=dict)  # line -> first seen (order unknown)
    first_seen: dt.datetime | None = None

    def offer(self, position, quality: int, fetched_at: dt.datetime, line: str) -> None:
        pos = _int(position)
        if pos is None:
            self.unnumbered[line] = min(self.unnumbered.get(line, fetched_at), fetched_at)
            return
        best = self.lines.get(pos)
        if best is None or (quality, fetched_at) > best[:2]:
            self.lines[pos] = (quality, fetched_at, line)

    def tracklist(self) -> list[str]:
        """Lines in position order; a missing position (or several) becomes one gap line."""
        out: list[str] = []
        previous = None
        for pos in sorted(self.lines):
            if previous is not None and pos > previous + 1:
                out.append(GAP_LINE)
            out.append(self.lines[pos][2])
            previous = pos
        # lines without a position: their order is unknown, so a gap between each (no transition is invented)
        for line in sorted(self.unnumbered, key=lambda x: (self.unnumbered[x], x)):
            out.extend([GAP_LINE, line] if out else [line])
        return out


@dataclass
class LegacyDay:
    mixes: dict[tuple[str, str], LegacyMix]  # (source, mix name): two sources' mixes of one name stay apart
    standalone: list[tuple[str, dt.datetime, str]]  # (line, fetched_at, source): tracks without a mix
    counts: dict[str, dict[str, int]]  # scrape_type -> {"used": n, "skipped: <reason>": n}


def map_items(items: list[tuple[str, object, dt.datetime, str]]) -> LegacyDay:
    """Group items (scrape_type, raw_data, fetched_at, source) into mixes with numbered lines, tracks without
    a mix, and per-type counts of what was used and what was skipped, with the reason."""
    mixes: dict[tuple[str, str], LegacyMix] = {}
    standalone: list[tuple[str, dt.datetime, str]] = []
    counts: dict[str, Counter] = {}

    def mix(key: str, source: str, at: dt.datetime) -> LegacyMix:
        m = mixes.setdefault((source, key), LegacyMix(key, source))
        m.first_seen = min(m.first_seen or at, at)
        return m

    for stype, raw, fetched_at, source in items:
        count = counts.setdefault(stype or "unknown", Counter())
        raw = decode_json(raw)
        if not isinstance(raw, dict) or set(raw) == {"_unparsed"}:  # text that was not JSON (kept in bronze)
            count["skipped: not a JSON object"] += 1
            continue
        if stype in PLAYLIST_TYPES:
            key = _first_text(raw, "setlist_name", "name", "playlist_name", "title", "setlist_id", "playlist_id",
                           "source_url", "url")
            if not key:
                count["skipped: no mix name or id"] += 1
                continue
            m = mix(key, source, fetched_at)
            m.metas.append((fetched_at, raw))
            tracks = decode_json(raw.get("tracks"))
            for i, t in enumerate(tracks if isinstance(tracks, list) else [], start=1):
                line, quality = _line(t) if isinstance(t, dict) else _string_line(t)
                if line:
                    position = t.get("position") if isinstance(t, dict) else None
                    m.offer(i if _int(position) is None else position, quality, fetched_at, line)
            count["used"] += 1
        elif stype in POSITION_TYPES:
            key = _first_text(raw, "setlist_name", "playlist_name", "setlist_id", "playlist_id")
            line, quality = _line(raw)
            if not key or not line:
                count["skipped: no mix name or no track" if line else "skipped: no track name"] += 1
                continue
            position = _first(raw, "track_order", "position", "position_in_set", "position_in_source")
            mix(key, source, fetched_at).offer(position, quality, fetched_at, line)
            count["used"] += 1
        elif stype in TRACK_TYPES:
            line, quality = _line(raw)
            if not line:
                count["skipped: no track name"] += 1
                continue
            meta = decode_json(raw.get("metadata"))
            meta = meta if isinstance(meta, dict) else {}
            key = _text(meta.get("mix_context")) or _first_text(raw, "setlist_name", "playlist_name")
            position = _first(raw, "position_in_source", "track_order", "position")
            if key and _int(position) is not None:
                mix(key, source, fetched_at).offer(position, quality, fetched_at, line)
            else:
                standalone.append((line, fetched_at, source))
            count["used"] += 1
        else:
            count[f"skipped: {NOT_MAPPED.get(stype, 'scrape type not mapped')}"] += 1
    return LegacyDay(mixes, standalone, {k: dict(v) for k, v in sorted(counts.items())})


def mix_fields(m: LegacyMix) -> dict:
    """Title, DJ, date, venue, show and genres of a mix: each field from the newest playlist/setlist item
    that has it (a ``playlist`` and an ``enhancedsetlist`` item of one mix complete each other)."""
    raw: dict = {}
    for _, item in sorted(m.metas, key=lambda x: x[0]):  # newer items overwrite older ones, field by field
        raw.update({k: v for k, v in item.items() if v not in (None, "", [], {})})
    date = None
    for value in (raw.get(k) for k in ("set_date", "event_date", "playlist_date", "date")):
        try:
            date = dt.date.fromisoformat(str(value)[:10]).isoformat() if value else None
        except ValueError:
            date = None
        if date:
            break
    genres = decode_json(raw.get("genre_tags"))
    return {"title": _mix_title(raw) or m.key, "dj": _first_text(raw, "dj_artist_name", "dj_name", "artist_name", "curator"),
            "date": date, "venue": _first_text(raw, "venue_name", "venue", "location") or None,
            "show": _first_text(raw, "event_name") or None,
            "genres": [g for g in genres if isinstance(g, str)] if isinstance(genres, list) else []}


def _mix_title(raw: dict) -> str | None:
    return _first_text(raw, "setlist_name", "name", "playlist_name", "title") or None


def _line(raw: dict) -> tuple[str | None, int]:
    """The best tracklist line an item carries, and its quality (see ``LegacyMix.lines``)."""
    meta = decode_json(raw.get("metadata"))
    if isinstance(meta, dict) and _text(meta.get("original_string")):
        return _text(meta["original_string"]), 3
    if _text(raw.get("original_string")) or _text(raw.get("source_context")):
        return _text(raw.get("original_string")) or _text(raw.get("source_context")), 3
    inner = raw.get("track") if isinstance(raw.get("track"), dict) else raw
    artist = _first_text(inner, "artist_name", "artist", "primary_artist")
    if not artist and isinstance(inner.get("artists"), list):
        artist = " & ".join(a for a in (_text(x) for x in inner["artists"]) if a)
    title = _first_text(inner, "track_name", "title", "track_title", "name")
    if title and artist:
        return f"{artist} - {title}", 2
    return (f"? - {title}" if title else None), 1  # a title without its artist: an unidentified entry


def _first(raw: dict, *names: str):
    for name in names:
        if raw.get(name) is not None:
            return raw[name]
    return None


def _first_text(raw: dict, *names: str) -> str:
    for name in names:
        text = _text(raw.get(name))
        if text:
            return text
    return ""


def _text(v) -> str:
    """A string or a number as text (ids are often integers); anything else is empty."""
    if isinstance(v, bool) or v is None:
        return ""
    if isinstance(v, (int, float)):
        return str(int(v)) if float(v).is_integer() else str(v)
    return v.strip() if isinstance(v, str) else ""


def _int(v) -> int | None:
    """A whole number from an int, a float or text ("3", "3.0"); anything else (or a fraction) is None."""
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(str(v).strip())
    except ValueError:
        return None
    return int(f) if f.is_integer() else None


def _string_line(value) -> tuple[str | None, int]:
    """A ``tracks`` entry given as text: a full line when it has an artist separator, else a bare title."""
    if not isinstance(value, str) or not value.strip():
        return None, 0
    text = value.strip()
    return (text, 3) if " - " in text else (f"? - {text}", 1)
