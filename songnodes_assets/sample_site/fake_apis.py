"""Local stand-ins for the enrichment APIs, answering in each API's real response shape.

One server on 127.0.0.1, one path prefix per source (``/musicbrainz``, ``/spotify``, ``/lastfm``,
``/discogs``, ``/getsongbpm``, ``/acousticbrainz``). Its catalogue is the identified tracks of the
sample site, with attributes derived deterministically from each track id (so answers are stable), a
share of tracks unknown to each source, and decoy candidates (another artist, a remix of the same
title) so matching is exercised for real. The demo uses it; tests use it with fault injection
(503 bursts, 429 + Retry-After, timeouts, connection resets, invalid JSON, JSON nested ``depth`` levels
deep, 401) and read its per-source request log. ``exact_artists=True`` makes searches match an artist
only by its whole name (or the whole joined credit), as real catalogues do, instead of by substring.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..lib.camelot import PITCH_NAMES, camelot
from ..lib.parsing.mix_title import classify_categories
from ..lib.parsing.mixesdb_page import parse_wikitext
from ..lib.parsing.text import fold
from ..lib.parsing.tracklist import parse_tracklist
from .local_server import LocalServer
from .server import load_pages

SOURCES = ("musicbrainz", "spotify", "lastfm", "discogs", "getsongbpm", "acousticbrainz")
DEMO_CREDENTIALS = {
    "SONGNODES_SPOTIFY_CLIENT_ID": "demo-spotify-client", "SONGNODES_SPOTIFY_CLIENT_SECRET": "demo-spotify-secret",
    "SONGNODES_LASTFM_API_KEY": "demo-lastfm-key", "SONGNODES_DISCOGS_TOKEN": "demo-discogs-token",
    "SONGNODES_GETSONGBPM_API_KEY": "demo-getsongbpm-key",
}


@dataclass
class CatalogTrack:
    track_id: str
    artists: list[str]
    title: str
    remixers: list[str]
    label: str | None
    genres: list[str]

    def h(self, salt: str) -> int:
        return int(hashlib.blake2b(f"{salt}|{self.track_id}".encode(), digest_size=8).hexdigest(), 16)

    @property
    def display_title(self) -> str:
        return f"{self.title} ({' & '.join(self.remixers)} Remix)" if self.remixers else self.title

    def known_to(self, source: str) -> bool:
        return self.h("known-" + source) % 100 >= 15  # ~15 % of tracks unknown to each source

    @property
    def bpm(self) -> float:
        return float(118 + self.h("bpm") % 15)

    @property
    def key(self) -> tuple[int, int]:
        return self.h("key") % 12, self.h("mode") % 2  # Spotify convention: mode 1 = major

    @property
    def duration_ms(self) -> int:
        return 300_000 + self.h("dur") % 180_000

    @property
    def isrc(self) -> str:
        return f"QZ{self.h('isrc') % 10**10:010d}"

    @property
    def mbid(self) -> str:
        return str(uuid.UUID(int=self.h("mbid") << 64 | self.h("mbid2")))

    @property
    def spotify_id(self) -> str:
        return hashlib.sha1(self.track_id.encode()).hexdigest()[:22]


def build_catalog(pages: dict[str, str] | None = None) -> list[CatalogTrack]:
    out: dict[str, CatalogTrack] = {}
    for title, text in (pages or load_pages()).items():
        page = parse_wikitext(text, title)
        genres = classify_categories(page.categories, [])["genres"]
        for e in parse_tracklist([t for _, t in page.tracklist_lines]):
            if e.is_identified and not e.is_mashup and e.track_id not in out:
                out[e.track_id] = CatalogTrack(e.track_id, e.artists, e.title, e.remixers, e.label, genres)
    return list(out.values())


@dataclass
class Fault:
    mode: str  # 503 | 429 | timeout | reset | invalid_json | deep_json | deep_object | 401 | 500 | mangle
    remaining: int | None = None  # None = every request
    retry_after: int = 1
    delay_s: float = 2.0
    after: int = 0  # healthy requests before the fault starts
    depth: int = 100_000  # nesting of deep_json ([[[...]]]) and deep_object ({"a":{"a":...}})


@dataclass
class FakeApis(LocalServer):
    catalog: list[CatalogTrack] = field(default_factory=build_catalog)
    host: str = "127.0.0.1"
    port: int = 0
    faults: dict[str, Fault] = field(default_factory=dict)
    exact_artists: bool = False
    log: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- lifecycle ------------------------------------------------------------------------------
    def base_url_for(self, source: str) -> str:
        return f"{self.base_url}/{source}"

    def env(self) -> dict[str, str]:
        """Environment pointing every source at this server, with demo credentials."""
        env = {f"SONGNODES_{s.upper()}_BASE_URL": self.base_url_for(s) for s in SOURCES}
        env["SONGNODES_SPOTIFY_AUTH_URL"] = self.base_url_for("spotify") + "/api/token"
        env.update(DEMO_CREDENTIALS)
        return env

    def start(self) -> "FakeApis":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in separate writes: avoid 40 ms delayed-ACK stalls

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                fake._handle(self, "POST")

        return self._serve(Handler, "fake-apis")

    def calls(self, source: str, path_contains: str = "") -> int:
        return sum(1 for _, p in self.log[source] if path_contains in p)

    def set_fault(self, source: str, mode: str | None, remaining: int | None = None, **kw) -> None:
        with self._lock:
            if mode is None:
                self.faults.pop(source, None)
            else:
                self.faults[source] = Fault(mode, remaining, **kw)

    # ---- request handling -----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        source = parts.path.strip("/").split("/", 1)[0]
        if source not in SOURCES:
            return self._send(h, 404, {"error": "unknown source"})
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        self.log[source].append((time.monotonic(), h.path))
        fault = self._take_fault(source)
        if fault is not None and fault.mode != "mangle":
            return self._inject(h, fault)
        qs = {k: v[0] for k, v in parse_qs(parts.query).items()}
        sub = "/" + parts.path.strip("/").split("/", 1)[1] if "/" in parts.path.strip("/") else "/"
        try:
            status, body = getattr(self, f"_{source}")(method, sub, qs, h.headers)
        except Exception as exc:  # a bug in the fake must be visible, not a hang
            status, body = 500, {"error": f"fake server error: {exc}"}
        if fault is not None:  # "mangle": the real answer with nested values of the wrong type
            body = mangle(body, random.Random(len(self.log[source])))
        self._send(h, status, body)

    def _take_fault(self, source: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(source)
            if fault is None:
                return None
            if fault.after > 0:
                fault.after -= 1
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.pop(source, None)
            return fault

    def _inject(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.mode == "timeout":
            time.sleep(fault.delay_s)
            return self._send(h, 200, {"late": True})
        if fault.mode == "reset":
            try:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            finally:
                h.connection.close()
            h.close_connection = True
            return None
        if fault.mode == "invalid_json":
            return self._send_raw(h, 200, b"<html>upstream error</html>{not json", "application/json")
        if fault.mode == "deep_json":
            return self._send_raw(h, 200, b"[" * fault.depth + b"]" * fault.depth, "application/json")
        if fault.mode == "deep_object":
            return self._send_raw(h, 200, b'{"a":' * fault.depth + b"1" + b"}" * fault.depth, "application/json")
        if fault.mode == "429":
            return self._send(h, 429, {"error": {"status": 429, "message": "Too many requests"}},
                              {"Retry-After": str(fault.retry_after)})
        if fault.mode == "401":
            return self._send(h, 401, {"error": "Invalid API Key, or inactive."})
        return self._send(h, int(fault.mode), {"error": f"HTTP {fault.mode}"})

    def _send(self, h, status: int, body, headers: dict | None = None) -> None:
        self._send_raw(h, status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8", headers)

    @staticmethod
    def _send_raw(h, status: int, data: bytes, ctype: str, headers: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    # ---- catalogue search -----------------------------------------------------------------------
    def _find(self, source: str, artist: str, title: str) -> list[CatalogTrack]:
        fa, ft = fold(artist), fold(title)
        out = []
        for t in self.catalog:
            if not t.known_to(source):
                continue
            names = [fold(a) for a in t.artists]
            if self.exact_artists:
                artist_ok = fa in names + [fold(" & ".join(t.artists)), fold(" ".join(t.artists))]
            else:
                artist_ok = any(n and (n in fa or fa in n) for n in names)
            if (fold(t.display_title) == ft or fold(t.title) == ft) and artist_ok:
                out.append(t)
        return out

    @staticmethod
    def _decoys(t: CatalogTrack) -> list[tuple[list[str], str]]:
        """Another artist with the same title, and a remix of the same track."""
        return [(["Someone Else"], t.title), (t.artists, f"{t.title} (Decoy Remix)")]

    # ---- sources --------------------------------------------------------------------------------
    def _musicbrainz(self, method, path, qs, headers):
        q = qs.get("query", "")
        title = _lucene_field(q, "recording")
        artist = _lucene_field(q, "artist")
        recs = []
        for t in self._find("musicbrainz", artist, title):
            recs.append(_mb_recording(t.mbid, t.artists, t.display_title, t.duration_ms, t.isrc, 100))
            for i, (a, tt) in enumerate(self._decoys(t)):
                recs.append(_mb_recording(str(uuid.UUID(int=t.h(f"decoy{i}"))), a, tt, t.duration_ms, None, 90 - i))
        return 200, {"created": "2026-11-22T00:00:00.000Z", "count": len(recs), "offset": 0, "recordings": recs}

    def _spotify(self, method, path, qs, headers):
        if path == "/api/token":
            if not headers.get("Authorization", "").startswith("Basic "):
                return 400, {"error": "invalid_client"}
            return 200, {"access_token": "fake-spotify-token", "token_type": "Bearer", "expires_in": 3600}
        if headers.get("Authorization") != "Bearer fake-spotify-token":
            return 401, {"error": {"status": 401, "message": "No token provided"}}
        if path.startswith("/v1/audio-features/"):
            return 403, {"error": {"status": 403, "message": "Forbidden"}}
        q = qs.get("q", "")
        m_t = re.search(r'track:"([^"]*)"', q)
        m_a = re.search(r'artist:"([^"]*)"', q)
        items = []
        for t in self._find("spotify", m_a.group(1) if m_a else "", m_t.group(1) if m_t else ""):
            name = f"{t.title} - {' & '.join(t.remixers)} Remix" if t.remixers else t.title
            items.append(_sp_track(t.spotify_id, t.artists, name, t.duration_ms, t.isrc))
            items.append(_sp_track(t.spotify_id[::-1], t.artists, f"{t.title} - Decoy Remix", t.duration_ms, None))
        return 200, {"tracks": {"href": "", "items": items, "limit": 10, "next": None, "offset": 0, "previous": None,
                                "total": len(items)}}

    def _lastfm(self, method, path, qs, headers):
        if qs.get("api_key") != DEMO_CREDENTIALS["SONGNODES_LASTFM_API_KEY"]:
            return 403, {"error": 10, "message": "Invalid API key - You must be granted a valid key by last.fm"}
        found = self._find("lastfm", qs.get("artist", ""), qs.get("track", ""))
        if not found:
            return 200, {"error": 6, "message": "Track not found", "links": []}
        t = found[0]
        return 200, {"track": {
            "name": t.display_title, "mbid": t.mbid, "url": f"https://www.last.fm/music/x/_/{t.track_id}",
            "duration": str(t.duration_ms), "streamable": {"#text": "0", "fulltrack": "0"},
            "listeners": str(1000 + t.h("l") % 50000), "playcount": str(5000 + t.h("p") % 500000),
            "artist": {"name": " & ".join(t.artists), "mbid": "", "url": ""},
            "album": {"artist": t.artists[0], "title": t.title, "mbid": "", "url": "", "@attr": {"position": "1"}},
            "toptags": {"tag": [{"name": g.lower(), "url": ""} for g in t.genres] or [{"name": "electronic", "url": ""}]},
        }}

    def _discogs(self, method, path, qs, headers):
        if not headers.get("Authorization", "").startswith("Discogs token=demo"):
            return 401, {"message": "You must authenticate to access this resource."}
        results = []
        for t in self._find("discogs", qs.get("artist", ""), qs.get("track", "")):
            rid = t.h("discogs") % 10**7
            label = t.label or "Not On Label"
            results.append({"style": t.genres, "title": f"{' & '.join(t.artists)} - {t.display_title}", "country": "DE",
                            "format": ["Vinyl", '12"'], "uri": f"/release/{rid}", "label": [label],
                            "catno": f"CAT {rid % 1000:03d}", "year": str(2000 + t.h("year") % 24),
                            "genre": ["Electronic"], "resource_url": f"/releases/{rid}", "type": "release", "id": rid})
        return 200, {"pagination": {"per_page": 10, "pages": 1, "page": 1, "urls": {}, "items": len(results)},
                     "results": results}

    def _getsongbpm(self, method, path, qs, headers):
        if qs.get("api_key") != DEMO_CREDENTIALS["SONGNODES_GETSONGBPM_API_KEY"]:
            return 401, {"error": "Invalid API Key, or inactive."}
        lookup = qs.get("lookup", "")
        m = re.match(r"song:(.*?)\s+artist:(.*)$", lookup)
        found = self._find("getsongbpm", m.group(2), m.group(1)) if m else []
        if not found:
            return 200, {"search": {"error": "no result"}}
        out = []
        for t in found:
            pc, mode = t.key
            key_of = PITCH_NAMES[pc].replace("#", "♯") + ("" if mode == 1 else "m")
            out.append({"id": t.track_id[:8], "title": t.display_title, "uri": "", "tempo": str(int(t.bpm)),
                        "time_sig": "4/4", "key_of": key_of, "open_key": _open_key(pc, mode),
                        "danceability": 70, "acousticness": 5,
                        "artist": {"id": "a1", "name": t.artists[0], "genres": [g.lower() for g in t.genres]}})
        return 200, {"search": out}

    def _acousticbrainz(self, method, path, qs, headers):
        ids = [i.split(":")[0] for i in qs.get("recording_ids", "").split(";") if i]
        by_mbid = {t.mbid: t for t in self.catalog if t.known_to("acousticbrainz")}
        out = {}
        for mbid in ids:
            t = by_mbid.get(mbid)
            if t is None:
                continue
            pc, mode = t.key
            out[mbid] = {"0": {"rhythm": {"bpm": t.bpm + 0.31}, "tonal": {
                "key_key": PITCH_NAMES[pc], "key_scale": "major" if mode == 1 else "minor", "key_strength": 0.6}}}
        return 200, out


def _lucene_field(query: str, name: str) -> str:
    m = re.search(name + r':"((?:[^"\\]|\\.)*)"', query)
    return re.sub(r"\\(.)", r"\1", m.group(1)) if m else ""


def _mb_recording(mbid, artists, title, length, isrc, score):
    rec = {"id": mbid, "score": score, "title": title, "length": length, "video": None,
           "artist-credit": [{"name": a, "artist": {"id": "", "name": a, "sort-name": a}} for a in artists],
           "first-release-date": "2019-05-17",
           "releases": [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, mbid)), "title": title, "status": "Official",
                         "date": "2019-05-17", "release-group": {"primary-type": "Single"}}]}
    if isrc:
        rec["isrcs"] = [isrc]
    return rec


def _sp_track(tid, artists, name, duration_ms, isrc):
    return {"album": {"album_type": "single", "id": tid[:10], "name": name, "release_date": "2019-05-17",
                      "release_date_precision": "day", "type": "album"},
            "artists": [{"id": a[:8], "name": a, "type": "artist"} for a in artists], "disc_number": 1,
            "duration_ms": duration_ms, "explicit": False, "external_ids": {"isrc": isrc} if isrc else {},
            "id": tid, "name": name, "popularity": 40, "track_number": 1, "type": "track", "uri": f"spotify:track:{tid}"}


def _open_key(pc: int, mode: int) -> str:
    code = camelot(pc, "major" if mode == 1 else "minor")  # e.g. "8B"
    number = int(code[:-1])
    open_number = (number - 8) % 12 + 1  # Camelot 8B (C major) = Open Key 1d
    return f"{open_number}{'d' if mode == 1 else 'm'}"


WRONG_TYPES = ("x", "", 7, -1.5, None, True, [], {}, [1, "a"], {"a": None})


def mangle(body, rng: random.Random, rate: float = 0.2):
    """A copy of a JSON answer whose top-level keys are kept but whose nested values are, at ``rate``, replaced
    by values of another type (string for object, object for list, null for number...): the shape drift a
    real API can ship without notice."""
    def walk(value, depth):
        if depth > 0 and rng.random() < rate:
            return rng.choice([w for w in WRONG_TYPES if type(w) is not type(value)])
        if isinstance(value, dict):
            return {k: walk(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        return value

    if isinstance(body, dict):
        return {k: walk(v, 1) for k, v in body.items()}
    return walk(body, 1)
