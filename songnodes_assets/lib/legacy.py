"""Import of the old SongNodes ``raw_scrape_data`` table (PostgreSQL) into bronze, and its silver mapping.

The old rows are **parsed items**, not pages: ``scrape_type`` playlist / enhancedsetlist (a mix),
enhancedsetlisttrack (one tracklist position), enhancedtrack (a track), enhancedartist,
enhancedtrackadjacency. In bronze they keep ``record_kind = 'legacy_item'`` and their JSON verbatim;
silver turns setlist tracks into tracklist lines ("Artist - Title") for the same parser, so old and new
data share track ids. Old adjacency rows are not imported as edges (the old system inflated them):
transitions are recomputed from the positions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict

PLAYLIST_TYPES = {"playlist", "enhancedsetlist"}
SETLIST_TRACK_TYPES = {"enhancedsetlisttrack"}
TRACK_TYPES = {"enhancedtrack", "enhancedtrackartist"}
IMPORTER_VERSION = "legacy-import/1"


def read_day(dsn: str, table: str, day: str) -> list[dict]:
    """Rows of the old table scraped on ``day`` (UTC). The table name is quoted as an identifier and
    the dates are bound parameters: nothing from configuration or data is interpolated into SQL."""
    import psycopg2
    import psycopg2.extras
    from psycopg2 import sql

    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    parts = table.split(".")
    ident = sql.SQL(".").join(sql.Identifier(p) for p in parts)
    query = sql.SQL("SELECT scrape_id::text AS scrape_id, source, scrape_type, raw_data, scraped_at FROM {} "
                    "WHERE scraped_at >= %s AND scraped_at < %s ORDER BY scraped_at, scrape_id").format(ident)
    with psycopg2.connect(dsn, connect_timeout=10) as con, con.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(query, (start, start + dt.timedelta(days=1)))
        return [dict(r) for r in cur.fetchall()]


def _title(raw: dict, scrape_type: str) -> str | None:
    for key in ("name", "playlist_name", "setlist_name", "track_name", "artist_name"):
        if isinstance(raw.get(key), str) and raw[key].strip():
            return raw[key].strip()
    return None


def to_bronze_rows(items: list[dict], day: str, run_id: str) -> list[dict]:
    rows = []
    for it in items:
        raw = it["raw_data"]
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = {"_unparsed": raw}
        body = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
        scraped = it["scraped_at"]
        if scraped.tzinfo is None:
            scraped = scraped.replace(tzinfo=dt.timezone.utc)
        stype = str(it.get("scrape_type") or "unknown")
        rows.append({"scrape_date": day, "source": f"legacy:{it.get('source') or 'unknown'}", "record_kind": "legacy_item",
                     "url": f"legacy://{stype}/{it['scrape_id']}", "final_url": None,
                     "page_title": _title(raw, stype) if isinstance(raw, dict) else None, "status": None,
                     "content_type": f"application/json; scrape_type={stype}", "headers_json": None,
                     "fetched_at": scraped, "sha256": hashlib.sha256(body).hexdigest(), "body": body,
                     "body_bytes": len(body), "error_kind": None, "error": None, "attempts": None, "elapsed_ms": None,
                     "fetcher_version": IMPORTER_VERSION, "run_id": run_id})
    return rows


def _text(v) -> str:
    return v.strip() if isinstance(v, str) else ""


def legacy_tracklists(items: list[tuple[str, dict, dt.datetime, str]]) -> tuple[dict, dict, list]:
    """Group legacy items (scrape_type, raw_data, fetched_at, source) into
    playlists {key: (raw, fetched_at, source)}, tracklists {key: [(position, "Artist - Title")]} and standalone
    track lines [("Artist - Title", fetched_at, source)]."""
    playlists: dict[str, tuple[dict, dt.datetime, str]] = {}
    tracklists: dict[str, list[tuple[int, str]]] = defaultdict(list)
    standalone: list[tuple[str, dt.datetime, str]] = []
    for stype, raw, fetched_at, source in items:
        if not isinstance(raw, dict):
            continue
        if stype in PLAYLIST_TYPES:
            key = _text(raw.get("playlist_id")) or _text(raw.get("name")) or _text(raw.get("playlist_name"))
            if key:
                playlists[key] = (raw, fetched_at, source)
        elif stype in SETLIST_TRACK_TYPES:
            key = _text(raw.get("setlist_id")) or _text(raw.get("playlist_id")) or _text(raw.get("setlist_name"))
            line = _line(raw)
            if key and line:
                pos = raw.get("position", raw.get("track_order", raw.get("position_in_source")))
                try:
                    pos = int(pos)
                except (TypeError, ValueError):
                    pos = 10**6 + len(tracklists[key])
                tracklists[key].append((pos, line))
                if key not in playlists and _text(raw.get("setlist_name")):
                    playlists.setdefault(key, ({"name": raw["setlist_name"]}, fetched_at, source))
        elif stype in TRACK_TYPES:
            line = _line(raw)
            if line:
                standalone.append((line, fetched_at, source))
    return playlists, {k: sorted(v) for k, v in tracklists.items()}, standalone


def _line(raw: dict) -> str | None:
    original = (raw.get("metadata") or {}).get("original_string") if isinstance(raw.get("metadata"), dict) else None
    if _text(original):
        return _text(original)
    artist, title = _text(raw.get("artist_name")), _text(raw.get("track_name"))
    if not title:
        return None
    return f"{artist or '?'} - {title}"
