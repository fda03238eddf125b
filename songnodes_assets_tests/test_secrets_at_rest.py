"""Planted API keys never reach anything stored or logged, even from APIs that echo the whole request.

Fake Last.fm, GetSongBPM, Discogs and Spotify APIs (pytest-httpserver on 127.0.0.1) put the request they
received (path with query string, decoded parameters, headers) into their success, not-found and error
answers. Enrichment runs at library level (``runner.enrich`` with real ``ApiClient``s, a real
``ResponseCache``, rate-limiter and health files in tmp), twice (the second run reads the cache); the rows
are written to parquet and the log lines to a file. Then every file produced is searched (raw bytes, the
parquet through DuckDB, every SQLite row through sqlite3) for each planted value, plain, percent-encoded
and case-folded: none may appear."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from urllib.parse import quote, quote_plus

import duckdb
import pandas as pd
import pytest
from werkzeug import Request, Response

from songnodes_assets.lib.enrich.api_client import ApiClient, RetryPolicy
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.health import SourceHealth
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.lib.enrich.runner import enrich
from songnodes_assets.lib.enrich.sources import SOURCES
from songnodes_assets.lib.enrich.sources.base import SourceConfig
from songnodes_assets.lib.http.redact import Redactor
from songnodes_assets.lib.matching import TrackQuery

LASTFM_KEY = "PlantedLastfmKey0123456789abcdef"
GSB_KEY = "Planted+GSB/key=c0ffee&more"  # characters that percent-encode differently with quote and quote_plus
DISCOGS_TOKEN = "PlantedDiscogsToken77b2XYZ"
SP_ID, SP_SECRET = "planted-spotify-client-id", "Planted-Spotify-Secret-5ecret"
BEARER = "PlantedBearerToken-AbC123xyz"  # issued by the fake token endpoint, sent back on every search
BASIC = base64.b64encode(f"{SP_ID}:{SP_SECRET}".encode()).decode()
PLANTED = {"lastfm api_key": LASTFM_KEY, "getsongbpm api_key": GSB_KEY, "discogs token": DISCOGS_TOKEN,
           "spotify client id": SP_ID, "spotify client secret": SP_SECRET, "spotify basic auth": BASIC,
           "spotify bearer token": BEARER}
CREDENTIALS = {"lastfm": {"SONGNODES_LASTFM_API_KEY": LASTFM_KEY},
               "getsongbpm": {"SONGNODES_GETSONGBPM_API_KEY": GSB_KEY},
               "discogs": {"SONGNODES_DISCOGS_TOKEN": DISCOGS_TOKEN},
               "spotify": {"SONGNODES_SPOTIFY_CLIENT_ID": SP_ID, "SONGNODES_SPOTIFY_CLIENT_SECRET": SP_SECRET}}
ARTIST = "Planted Artist"
# one track per kind of answer; "Locked Out" last (credentials rejected: the source is down after it)
TITLES = ["Found Me", "Nobody Knows", "Odd Shape", "Break Me", "Server Sad", "Locked Out"]


def echo(request: Request) -> str:
    return (f"{request.method} {request.full_path} args={json.dumps(request.args.to_dict())} "
            f"headers={json.dumps(dict(request.headers))}")


def _json(body, status=200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _errors(title: str, e: str) -> Response | None:
    if title == "Break Me":
        return _json({"error": 8, "message": f"bad request: {e}"}, 400)
    if title == "Server Sad":
        return _json({"error": f"server trouble: {e}"}, 500)
    if title == "Locked Out":
        return _json({"error": 10, "message": f"Invalid API key - you sent {e}"}, 401)
    return None


def lastfm(request: Request) -> Response:
    e, title = echo(request), request.args.get("track", "")
    if title == "Found Me":
        return _json({"track": {"name": title, "mbid": "mb-1", "duration": "300000", "url": e,
                                "artist": {"name": request.args.get("artist")}, "album": {"title": e},
                                "toptags": {"tag": [{"name": e}, {"name": "Techno"}]}}})
    if title == "Nobody Knows":
        return _json({"error": 6, "message": f"Track not found ({e})"})
    if title == "Odd Shape":
        return _json({"weird": e})
    if title == "Locked Out":  # Last.fm says it inside a 200
        return _json({"error": 10, "message": f"Invalid API key - you sent {e}"})
    return _errors(title, e)


def getsongbpm(request: Request) -> Response:
    e = echo(request)
    m = re.match(r"song:(.*) artist:(.*)", request.args.get("lookup", ""))
    title, artist = m.groups() if m else ("", "")
    if title == "Found Me":
        return _json({"search": [{"id": "g1", "title": title, "tempo": "128", "key_of": "Am",
                                  "artist": {"name": artist, "genres": [e, "techno"]}}]})
    if title == "Nobody Knows":
        return _json({"search": {"error": f"no result for {e}"}})
    if title == "Odd Shape":
        return _json({"search": 5, "echo": e})
    return _errors(title, e)


def discogs(request: Request) -> Response:
    e, title, artist = echo(request), request.args.get("track", ""), request.args.get("artist", "")
    if title == "Found Me":
        return _json({"results": [{"type": "release", "id": 7, "title": f"{artist} - {title}", "label": [e],
                                   "catno": e, "genre": [e], "style": ["Techno"], "year": 2020}]})
    if title == "Nobody Knows":
        return _json({"results": [], "pagination": {"echo": e}})
    if title == "Odd Shape":
        return _json({"results": {"echo": e}})
    return _errors(title, e)


def spotify_token(request: Request) -> Response:
    return _json({"access_token": BEARER, "token_type": "Bearer", "expires_in": 3600, "scope": echo(request)})


def spotify_search(request: Request) -> Response:
    e = echo(request)
    m = re.match(r'track:"(.*)" artist:"(.*)"', request.args.get("q", ""))
    title, artist = m.groups() if m else ("", "")
    if title == "Found Me":
        return _json({"tracks": {"items": [{"id": "sp1", "name": title, "artists": [{"name": artist}],
                                            "duration_ms": 300000, "external_ids": {"isrc": "QZ0000000001"},
                                            "album": {"release_date": e}, "popularity": 5}]}})
    if title == "Nobody Knows":
        return _json({"tracks": {"items": [], "href": e}})
    if title == "Odd Shape":
        return _json({"tracks": e})
    return _errors(title, e)


@pytest.fixture
def echo_apis(httpserver):
    httpserver.expect_request("/lastfm/2.0/").respond_with_handler(lastfm)
    httpserver.expect_request("/getsongbpm/search/").respond_with_handler(getsongbpm)
    httpserver.expect_request("/discogs/database/search").respond_with_handler(discogs)
    httpserver.expect_request("/spotify/api/token", method="POST").respond_with_handler(spotify_token)
    httpserver.expect_request("/spotify/v1/search").respond_with_handler(spotify_search)
    return httpserver


def needles(value: str) -> set[bytes]:
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}
    return {f.lower().encode() for f in forms}


def run_enrichment(httpserver, tmp_path, name: str, logs: list[str]) -> list[dict]:
    base = httpserver.url_for(f"/{name}").rstrip("/")
    cfg = SourceConfig(name=name, base_url=base, enabled=True, min_interval_s=0, credentials=CREDENTIALS[name],
                       missing_credentials=[], options={"auth_url": httpserver.url_for("/spotify/api/token")})
    state = tmp_path / "state"
    tracks = [TrackQuery(f"t{i}", [ARTIST], title) for i, title in enumerate(TITLES)]
    rows = []
    for _run in range(2):  # the second run reads what the first one cached
        adapter = SOURCES[name](cfg)
        client = ApiClient(name, base, limiter=SharedRateLimiter(state / "ratelimit.sqlite", name, 0),
                           cache=ResponseCache(state / "responses.sqlite"), user_agent="SongNodesTest/1",
                           policy=RetryPolicy(max_tries=1), secrets=cfg.secrets, breaker_fail_max=100,
                           log=logs.append, health=SourceHealth(state / "health.sqlite"))
        got, summary = enrich(tracks, adapter, client, scrape_date="2024-05-01", log=logs.append)
        rows += got
        logs.append(f"summary {name}: {summary}")
    return rows


def test_planted_keys_never_reach_rows_cache_state_or_logs(echo_apis, tmp_path):
    logs: list[str] = []
    rows: list[dict] = []
    for name in ("lastfm", "getsongbpm", "discogs", "spotify"):
        rows += run_enrichment(echo_apis, tmp_path, name, logs)

    # the fakes really received every planted value, and really echoed it back
    sent = "\n".join(echo(r) for r, _ in echo_apis.log).lower()
    for label, value in PLANTED.items():
        value = BASIC if label in ("spotify client id", "spotify client secret") else value  # sent inside Basic
        assert any(n.decode() in sent for n in needles(value)), f"{label} never sent: the test would prove nothing"
    statuses = {(r["source"], r["track_id"]): (r["status"], r["error_class"]) for r in rows}
    for source in ("lastfm", "getsongbpm", "discogs", "spotify"):
        assert statuses[(source, "t0")] == ("matched", None), (source, statuses)
        assert statuses[(source, "t1")][0] == "not_found"
        assert statuses[(source, "t5")] == ("failed", "auth_rejected")
    echoed = [v for r in rows for v in r.values() if isinstance(v, str) and "headers=" in v]
    assert echoed and any("***" in v for v in echoed)  # echoes did reach rows: redacted
    by = {(r["source"], r["track_id"]): r for r in rows}
    assert "headers=" in (by[("lastfm", "t1")]["match_reason"] or "")  # Last.fm's not-found message, redacted
    assert "headers=" in (by[("getsongbpm", "t1")]["match_reason"] or "")
    assert any("headers=" in t for t in by[("lastfm", "t0")]["tags"])  # matched row, lower-cased echo
    assert "headers=" in by[("discogs", "t0")]["label"] and "headers=" in by[("spotify", "t0")]["release_date"]

    # everything that would be stored: rows as parquet, log lines as a file (cache/limiter/health are sqlite)
    out = tmp_path / "lake"
    out.mkdir()
    pd.DataFrame(rows).to_parquet(out / "enrichment.parquet")
    (out / "run.log").write_text("\n".join(logs), encoding="utf-8")
    produced = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert {p.name for p in produced} >= {"enrichment.parquet", "run.log", "responses.sqlite", "health.sqlite",
                                          "ratelimit.sqlite"}
    haystacks: dict[str, bytes] = {str(p): p.read_bytes().lower() for p in produced}
    parquet_rows = duckdb.connect().execute(f"SELECT * FROM read_parquet('{out / 'enrichment.parquet'}')").fetchall()
    assert len(parquet_rows) == len(rows) == 4 * 2 * len(TITLES)
    haystacks["parquet via duckdb"] = repr(parquet_rows).lower().encode()
    for db in (p for p in produced if p.suffix == ".sqlite"):
        con = sqlite3.connect(db)
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        haystacks[f"{db.name} rows"] = repr([con.execute(f"SELECT * FROM {t}").fetchall() for t in tables]).lower().encode()
        con.close()
    cached = sqlite3.connect(tmp_path / "state" / "responses.sqlite").execute("SELECT count(*) FROM responses").fetchone()[0]
    assert cached >= 8  # success and not-found answers of the four sources were cached (and then read)
    leaks = [(label, where) for label, value in PLANTED.items() for where, hay in haystacks.items()
             if any(n in hay for n in needles(value))]
    assert not leaks, leaks


def test_redactor_forms_and_patterns():
    r = Redactor(["Sekrit+Key/1"])
    assert r.text("a Sekrit+Key/1 b sekrit%2Bkey%2F1 c SEKRIT%2BKEY/1 d Sekrit%2BKey%2F1") == "a *** b *** c *** d ***"
    assert r.text("x?api_key=whatever&token=abc123 Authorization: Bearer abcdefghijklmnop") == \
        "x?api_key=***&token=*** Authorization: Bearer ***"
    assert r.text("Basic Instinct, key of C, monkey=1") == "Basic Instinct, key of C, monkey=1"  # data stays data
    r.learn("learned-token-value")
    assert r.data({"k learned-token-value": ["x LEARNED-TOKEN-VALUE", 1, None]}) == {"k ***": ["x ***", 1, None]}
    assert Redactor(["ab"]).text("abc") == "abc"  # too short to remove without destroying text
