"""Every request path of the enrichment sources, over real sockets on 127.0.0.1: hostile JSON nesting,
the Spotify token request under the same retries/breaker/stats as the searches, retry counters that
match what the server saw, and artist fallback for one-artist searches."""

import random
import time

import pytest
from werkzeug import Request, Response

from songnodes_assets.lib.enrich.api_client import (ApiClient, AuthRejected, BadResponse, JsonRefused, RateLimited,
                                                    RetryPolicy, ServerError, loads_bounded)
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.lib.enrich.runner import enrich
from songnodes_assets.lib.enrich.sources import SOURCES
from songnodes_assets.lib.enrich.sources.base import SourceConfig, query_artists
from songnodes_assets.lib.http.polite import Politeness, PoliteClient
from songnodes_assets.lib.matching import TrackQuery
from songnodes_assets.lib.mixesdb import DiscoveryError, discover
from songnodes_assets.sample_site.fake_apis import DEMO_CREDENTIALS, CatalogTrack, FakeApis

SEARCH_SOURCES = ("musicbrainz", "spotify", "lastfm", "discogs", "getsongbpm")
FAST = dict(connect_timeout_s=1.0, read_timeout_s=2.0, max_tries=3, backoff_base_s=0.01, backoff_max_s=0.02,
            retry_after_cap_s=5.0)


@pytest.fixture
def apis():
    with FakeApis() as f:
        yield f


def make(apis, name, tmp_path, breaker_fail_max=5, breaker_reset_s=60.0, **policy):
    cls = SOURCES[name]
    cfg = SourceConfig(name=name, base_url=apis.base_url_for(name), enabled=True, min_interval_s=0,
                       credentials={k: DEMO_CREDENTIALS[k] for k in cls.credential_env}, missing_credentials=[],
                       options={"auth_url": apis.base_url_for("spotify") + "/api/token"})
    client = ApiClient(name, cfg.base_url, limiter=SharedRateLimiter(tmp_path / "rl.sqlite", name, 0),
                       cache=ResponseCache(tmp_path / "cache.sqlite"), user_agent="SongNodesTest/1",
                       policy=RetryPolicy(**{**FAST, **policy}), secrets=cfg.secrets,
                       breaker_fail_max=breaker_fail_max, breaker_reset_s=breaker_reset_s, rng=random.Random(1))
    return cls(cfg), client


def known_tracks(apis, source, n):
    return [TrackQuery(t.track_id, list(t.artists), t.title, list(t.remixers))
            for t in apis.catalog if t.known_to(source)][:n]


# ---- 1. hostile nesting depth and size --------------------------------------------------------------
def test_loads_bounded_limits():
    assert loads_bounded(b"[" * 200 + b"]" * 200) is not None
    assert loads_bounded('["' + "[" * 5000 + '"]') == ["[" * 5000]  # brackets inside strings do not nest
    for hostile in (b"[" * 201 + b"]" * 201, b"[" * 100_000 + b"]" * 100_000,
                    b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        with pytest.raises(JsonRefused):
            loads_bounded(hostile)
    with pytest.raises(JsonRefused):
        loads_bounded(b"[1, 2, 3]", max_bytes=4)
    with pytest.raises(ValueError):
        loads_bounded(b'["' + b'\\"' * 100_000)  # unterminated escapes: linear, plain invalid JSON


@pytest.mark.parametrize("mode", ["deep_json", "deep_object"])
def test_deep_answer_is_one_bad_response_row_and_the_rest_match(apis, tmp_path, mode):
    tracks = known_tracks(apis, "musicbrainz", 6)
    adapter, client = make(apis, "musicbrainz", tmp_path)
    apis.set_fault("musicbrainz", mode, remaining=1, after=2)  # the third track's search
    rows, summary = enrich(tracks, adapter, client, scrape_date="2024-05-01")
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(rows) == 6 and len(failed) == 1
    assert failed[0]["track_id"] == tracks[2].track_id and failed[0]["error_class"] == "bad_response"
    assert "deeper than 200" in failed[0]["error"] and failed[0]["attempts"] == 1  # not re-asked
    assert summary.matched == 5 and client.stats["refused_json"] == 1 and client.breaker_state == "closed"


def test_answer_above_the_body_cap_is_a_bad_response(apis, tmp_path):
    _, client = make(apis, "musicbrainz", tmp_path, max_tries=1, max_body_bytes=50_000)
    apis.set_fault("musicbrainz", "deep_json")  # 200 000 bytes
    with pytest.raises(BadResponse, match="larger than 50000 bytes"):
        client.get_json("/ws/2/recording", {"query": "q", "fmt": "json"})


def test_discovery_deep_answer_is_a_clean_error_naming_the_url(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n", content_type="text/plain")
    httpserver.expect_request("/w/api.php").respond_with_data(b"[" * 100_000 + b"]" * 100_000,
                                                              content_type="application/json")
    client = PoliteClient(Politeness(user_agent="SongNodesTest/1.0 (+mailto:test@example.org)",
                                     allowed_hosts=frozenset({f"127.0.0.1:{httpserver.port}"}), min_interval_s=0.0,
                                     jitter_s=0.0, max_tries=1))
    base = httpserver.url_for("").rstrip("/")
    with pytest.raises(DiscoveryError) as info:
        discover(client, base, [base + "/w/Category:Techno"], limit=10)
    assert info.value.kind == "discovery" and "/w/api.php?" in info.value.url
    assert "deeper than 200" in str(info.value) and info.value.url in str(info.value)


# ---- 2. the Spotify token request goes through the client ----------------------------------------
def test_token_endpoint_503_is_retried_counted_and_opens_the_breaker(apis, tmp_path):
    tracks = known_tracks(apis, "spotify", 18)
    adapter, client = make(apis, "spotify", tmp_path, breaker_fail_max=5)
    apis.set_fault("spotify", "503")
    rows, summary = enrich(tracks, adapter, client, scrape_date="2024-05-01")
    posts = apis.calls("spotify", "/api/token")
    assert posts == 3 * 5  # tries x failures until the breaker opens (was 18: one untried POST per track)
    assert apis.calls("spotify", "/v1/search") == 0
    assert client.stats["calls"] == posts and client.stats["retries"] == posts - 5  # re-sent = all but first tries
    assert client.breaker_state == "open" and summary.down_reason.startswith("circuit breaker opened")
    classes = [r["error_class"] for r in rows]
    assert classes == ["server_error"] * 5 + ["circuit_open"] * 13
    assert [r["api_calls"] for r in rows] == [3] * 5 + [0] * 13


def test_token_is_fetched_once_and_a_503_on_it_is_retried(apis, tmp_path):
    tracks = known_tracks(apis, "spotify", 6)
    adapter, client = make(apis, "spotify", tmp_path)
    apis.set_fault("spotify", "503", remaining=1)  # the first token POST
    rows, summary = enrich(tracks, adapter, client, scrape_date="2024-05-01")
    assert apis.calls("spotify", "/api/token") == 2 and client.stats["token_requests"] == 1
    assert summary.matched == 6 and client.stats["retries"] == 1
    assert client.stats["calls"] == len(apis.log["spotify"])  # every request the server saw is counted
    assert rows[0]["api_calls"] == 3  # two token tries + the search


def test_token_endpoint_401_is_auth_rejected_without_retry(apis, tmp_path):
    adapter, client = make(apis, "spotify", tmp_path)
    apis.set_fault("spotify", "401")
    rows, summary = enrich(known_tracks(apis, "spotify", 4), adapter, client, scrape_date="2024-05-01")
    assert apis.calls("spotify") == 1 and {r["error_class"] for r in rows} == {"auth_rejected"}
    assert summary.down_reason.startswith("credentials rejected") and "demo-spotify-secret" not in str(rows)


# ---- 3. counters count what was sent --------------------------------------------------------------
def test_retries_equal_the_requests_re_sent(apis, tmp_path):
    _, client = make(apis, "musicbrainz", tmp_path, breaker_fail_max=100)
    apis.set_fault("musicbrainz", "503")
    for i in range(5):
        with pytest.raises(ServerError):
            client.get_json("/ws/2/recording", {"query": f"q{i}", "fmt": "json"})
    sent = apis.calls("musicbrainz")
    assert sent == 15 and client.stats["calls"] == 15
    assert client.stats["retries"] == sent - 5 == 10  # was 15: the wait hook also ran after each last try


def test_no_limiter_push_back_after_the_last_try(apis, tmp_path):
    _, client = make(apis, "musicbrainz", tmp_path, max_tries=2)
    apis.set_fault("musicbrainz", "429", retry_after=1)
    with pytest.raises(RateLimited):
        client.get_json("/ws/2/recording", {"query": "q", "fmt": "json"})
    assert apis.calls("musicbrainz") == 2 and client.stats["retries"] == 1
    assert client.limiter.reserve() - time.time() < 0.5  # the next caller is not held back another second


# ---- 4. artist fallback ---------------------------------------------------------------------------
def test_query_artists_order():
    assert query_artists(TrackQuery("t", ["Aye", "Bee"], "S")) == ["Aye & Bee", "Aye", "Bee"]
    assert query_artists(TrackQuery("t", ["Aye", "Bee"], "S"), joiner=" ") == ["Aye Bee", "Aye", "Bee"]
    assert query_artists(TrackQuery("t", ["Solo"], "S")) == ["Solo"]
    assert query_artists(TrackQuery("t", ["A", "b", "B", "C", "D"], "S")) == ["A & b & B & C & D", "A", "b", "C"]


def test_lastfm_tries_each_credited_artist(httpserver, tmp_path):
    sent = []

    def handler(request: Request) -> Response:
        sent.append(request.args["artist"])
        if request.args["artist"] != "Bee":
            return Response('{"error": 6, "message": "Track not found", "links": []}', content_type="application/json")
        return Response('{"track": {"name": "Song", "mbid": "m-1", "url": "u", "duration": "301000", '
                        '"artist": {"name": "Bee"}, "album": {"title": "Song"}, '
                        '"toptags": {"tag": [{"name": "Techno"}]}}}', content_type="application/json")

    httpserver.expect_request("/2.0/").respond_with_handler(handler)
    cfg = SourceConfig(name="lastfm", base_url=httpserver.url_for("").rstrip("/"), enabled=True, min_interval_s=0,
                       credentials={"SONGNODES_LASTFM_API_KEY": "k"}, missing_credentials=[])
    client = ApiClient("lastfm", cfg.base_url, limiter=SharedRateLimiter(tmp_path / "rl.sqlite", "lastfm", 0),
                       cache=None, user_agent="SongNodesTest/1")
    res = SOURCES["lastfm"](cfg).lookup(client, TrackQuery("t", ["Aye", "Bee"], "Song"), {})
    assert res.status == "matched" and res.fields["source_id"] == "m-1" and res.fields["tags"] == ["techno"]
    assert sent == ["Aye & Bee", "Aye", "Bee"] and client.stats["artist_fallbacks"] == 2
    assert client.stats["calls"] == 3


@pytest.fixture
def exact_apis():
    """A catalogue holding one track under its second credited artist only, matched by whole names."""
    with FakeApis(catalog=[CatalogTrack("t0", ["Bee"], "Song Of Songs", [], "Lbl", ["Techno"])],
                  exact_artists=True) as f:
        yield f


@pytest.mark.parametrize("name", SEARCH_SOURCES)
def test_every_search_source_finds_a_track_listed_under_the_second_artist(exact_apis, tmp_path, name):
    adapter, client = make(exact_apis, name, tmp_path)
    rows, summary = enrich([TrackQuery("x", ["Aye", "Bee"], "Song Of Songs"),
                            TrackQuery("y", ["Bee"], "Song Of Songs")], adapter, client, scrape_date="2024-05-01")
    assert [r["status"] for r in rows] == ["matched", "matched"]
    searches = exact_apis.calls(name) - exact_apis.calls(name, "/api/token")
    assert searches == 3  # "Aye & Bee", "Aye", "Bee"
    assert client.stats["artist_fallbacks"] == 2 and rows[0]["api_calls"] == exact_apis.calls(name)  # + token
    assert (rows[1]["cache_hits"], client.stats["cache_hits"]) == (1, 1)  # one-artist track: one query ("Bee", cached)


def test_fallback_not_found_names_the_artists_and_errors_stop_it(exact_apis, tmp_path):
    adapter, client = make(exact_apis, "discogs", tmp_path)
    res = adapter.lookup(client, TrackQuery("x", ["Aye", "Cee"], "Song Of Songs"), {})
    assert res.status == "not_found" and "Aye & Cee | Aye | Cee" in res.reason and exact_apis.calls("discogs") == 3
    exact_apis.set_fault("discogs", "401")
    with pytest.raises(AuthRejected):
        adapter.lookup(client, TrackQuery("z", ["Dee", "Eee"], "Song Of Songs"), {})
    assert exact_apis.calls("discogs") == 4  # the failure ended the lookup: no further artist asked
