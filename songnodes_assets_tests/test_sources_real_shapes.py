"""Each source adapter against real API responses from ../shared/corpus, served over HTTP on 127.0.0.1."""

import json

import pytest

from songnodes_assets.lib.enrich.api_client import ApiClient, AuthRejected
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.lib.enrich.sources import SOURCES
from songnodes_assets.lib.enrich.sources.base import SourceConfig
from songnodes_assets.lib.matching import TrackQuery

CREDS = {"spotify": {"SONGNODES_SPOTIFY_CLIENT_ID": "id", "SONGNODES_SPOTIFY_CLIENT_SECRET": "sec"},
         "lastfm": {"SONGNODES_LASTFM_API_KEY": "lfkey"}, "discogs": {"SONGNODES_DISCOGS_TOKEN": "dtok"},
         "getsongbpm": {"SONGNODES_GETSONGBPM_API_KEY": "gkey"}}


def load(corpus, rel):
    return json.loads((corpus / rel).read_text(encoding="utf-8"))


def make(name, httpserver, tmp_path, options=None):
    cfg = SourceConfig(name=name, base_url=httpserver.url_for("").rstrip("/"), enabled=True, min_interval_s=0,
                       credentials=CREDS.get(name, {}), missing_credentials=[], options=options or {})
    adapter = SOURCES[name](cfg)
    client = ApiClient(name, cfg.base_url, limiter=SharedRateLimiter(tmp_path / "rl.sqlite", name, 0),
                       cache=ResponseCache(tmp_path / "cache.sqlite"), user_agent="SongNodesTest/1 (+test)",
                       secrets=cfg.secrets)
    return adapter, client


def test_musicbrainz_search(corpus, httpserver, tmp_path):
    httpserver.expect_request("/ws/2/recording").respond_with_json(
        load(corpus, "musicbrainz/credits_spot_recording_search_zankoku_na_tenshi_no_these.json"))
    adapter, client = make("musicbrainz", httpserver, tmp_path)
    res = adapter.lookup(client, TrackQuery("t", ["河井英里"], "残酷な天使のテーゼ"), {})
    assert res.status == "matched" and res.match.tier == "strong"
    assert res.fields["source_id"] == "0e16076b-4c48-420d-a684-c3e213368782"
    assert res.fields["isrc"] == "JPPI00152140" and res.fields["release_date"] == "2001-11-22"
    q = httpserver.log[0][0].args["query"]
    assert q == 'recording:"残酷な天使のテーゼ" AND artist:"河井英里"'
    assert httpserver.log[0][0].headers["User-Agent"].startswith("SongNodesTest")


def test_spotify_search_with_token(corpus, httpserver, tmp_path):
    httpserver.expect_request("/api/token", method="POST").respond_with_json(
        {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})
    httpserver.expect_request("/v1/search", headers={"Authorization": "Bearer tok"}).respond_with_json(
        load(corpus, "spotify/beets_fixture_track_request.json"))
    adapter, client = make("spotify", httpserver, tmp_path, {"auth_url": httpserver.url_for("/api/token")})
    res = adapter.lookup(client, TrackQuery("t", ["Pharrell Williams"], "Happy"), {})
    assert res.status == "matched"
    assert (res.fields["source_id"], res.fields["isrc"], res.fields["duration_ms"]) == \
        ("6NPVjNh8Jhru9xOmyQigds", "USQ4E1300686", 233305)


def test_spotify_empty_search_is_not_found(corpus, httpserver, tmp_path):
    httpserver.expect_request("/api/token", method="POST").respond_with_json({"access_token": "tok", "expires_in": 3600})
    httpserver.expect_request("/v1/search").respond_with_json(load(corpus, "spotify/beets_fixture_missing_request.json"))
    adapter, client = make("spotify", httpserver, tmp_path, {"auth_url": httpserver.url_for("/api/token")})
    assert adapter.lookup(client, TrackQuery("t", ["Nobody"], "Nothing"), {}).status == "not_found"


def test_spotify_rejected_credentials(httpserver, tmp_path):
    httpserver.expect_request("/api/token", method="POST").respond_with_json({"error": "invalid_client"}, status=400)
    adapter, client = make("spotify", httpserver, tmp_path, {"auth_url": httpserver.url_for("/api/token")})
    with pytest.raises(AuthRejected):
        adapter.lookup(client, TrackQuery("t", ["A"], "B"), {})


def test_lastfm_get_info(corpus, httpserver, tmp_path):
    httpserver.expect_request("/2.0/").respond_with_json(
        load(corpus, "lastfm/lastfm_docs_community_track.getInfo__2_note_example_response_without_user_parameter.json"))
    adapter, client = make("lastfm", httpserver, tmp_path)
    res = adapter.lookup(client, TrackQuery("t", ["Linkin Park"], "One Step Closer"), {})
    assert res.status == "matched" and "nu metal" in res.fields["tags"] and res.fields["duration_ms"] == 157000
    assert httpserver.log[0][0].args["api_key"] == "lfkey"


@pytest.mark.parametrize("fixture", [
    "lastfm/lastfm_docs_community_track.getInfo__3_warning_example_response_of_a_track_artist_that_doesnt_exist.json",
    "lastfm/lastfm_docs_community_codes.md__1_warning_example_response_of_an_error.json"])
def test_lastfm_unknown_track_is_not_found(corpus, httpserver, tmp_path, fixture):
    httpserver.expect_request("/2.0/").respond_with_json(load(corpus, fixture))
    adapter, client = make("lastfm", httpserver, tmp_path)
    assert adapter.lookup(client, TrackQuery("t", ["Fake Artist"], "Fake Track"), {}).status == "not_found"


def test_lastfm_invalid_key_inside_a_200(httpserver, tmp_path):
    httpserver.expect_request("/2.0/").respond_with_json({"error": 10, "message": "Invalid API key"})
    adapter, client = make("lastfm", httpserver, tmp_path)
    with pytest.raises(AuthRejected) as info:
        adapter.lookup(client, TrackQuery("t", ["A"], "B"), {})
    assert "lfkey" not in str(info.value)


def test_discogs_search(corpus, httpserver, tmp_path):
    httpserver.expect_request("/database/search", headers={"Authorization": "Discogs token=dtok"}).respond_with_json(
        load(corpus, "discogs/discogs_client_fixture_database_search_q_trash80_per_page_50_page_1.json"))
    adapter, client = make("discogs", httpserver, tmp_path)
    res = adapter.lookup(client, TrackQuery("t", ["Trash80"], "Icarus"), {})
    assert res.status == "matched"
    assert (res.fields["label"], res.fields["catalog_number"], res.fields["release_date"]) == ("8bitpeoples", "8BP086", "2008")
    assert {"Electronic", "Chiptune"} <= set(res.fields["genres"])


def test_getsongbpm_shapes(corpus, httpserver, tmp_path):
    frags = {f["what"].split(" ")[0] + str(f["http_status"]): f["body"] for f in
             load(corpus, "getsongbpm/observed_response_fragments.json")["fragments"]}
    hit = next(f for f in load(corpus, "getsongbpm/observed_response_fragments.json")["fragments"]
               if isinstance(f["body"].get("search"), list) and f["body"]["search"][0].get("artist"))
    httpserver.expect_ordered_request("/search/").respond_with_json(hit["body"])
    httpserver.expect_ordered_request("/search/").respond_with_json({"search": {"error": "no result"}})
    httpserver.expect_ordered_request("/search/").respond_with_json(frags["bad401"], status=401)
    adapter, client = make("getsongbpm", httpserver, tmp_path)
    song = hit["body"]["search"][0]
    res = adapter.lookup(client, TrackQuery("t", [song["artist"]["name"]], song["title"]), {})
    assert res.status == "matched" and res.fields["bpm"] == 220.0
    assert (res.fields["key_pitch_class"], res.fields["mode"]) == (6, "minor")  # "F#m"
    assert adapter.lookup(client, TrackQuery("u", ["Nobody"], "Nothing"), {}).status == "not_found"
    with pytest.raises(AuthRejected):
        adapter.lookup(client, TrackQuery("v", ["Nobody"], "Else"), {})


def test_acousticbrainz_bulk_shape(corpus, httpserver, tmp_path):
    selected = load(corpus, "acousticbrainz/ab_server_testdata_bulk_lowlevel_select_features_response.json")
    full_doc = load(corpus, "acousticbrainz/ab_server_testdata_lowlevel_e8afe383_david_bowie_soul_love.json")
    mbid = "e8afe383-1478-497e-90b1-7885c7f37f6e"
    httpserver.expect_ordered_request("/api/v1/low-level").respond_with_json({mbid: {"0": full_doc}})
    httpserver.expect_ordered_request("/api/v1/low-level").respond_with_json(selected)
    httpserver.expect_ordered_request("/api/v1/low-level").respond_with_json({})
    adapter, client = make("acousticbrainz", httpserver, tmp_path)
    res = adapter.lookup(client, TrackQuery("t", ["David Bowie"], "Soul Love"), {"mbids": {"t": mbid}})
    assert res.status == "matched" and res.fields["bpm"] == pytest.approx(146.65, abs=0.01)
    assert (res.fields["key_pitch_class"], res.fields["mode"]) == (2, "major")  # "D" + "major"
    assert httpserver.log[0][0].args["recording_ids"] == mbid
    other = "0dad432b-16cc-4bf0-8961-fd31d124b01b"  # a submission without bpm and without key_scale
    res2 = adapter.lookup(client, TrackQuery("o", ["Austin Wintory"], "Nascence"), {"mbids": {"o": other}})
    assert res2.status == "matched" and res2.fields["mode"] is None
    assert adapter.lookup(client, TrackQuery("x", ["A"], "B"), {"mbids": {}}).status == "skipped"
    unknown = adapter.lookup(client, TrackQuery("u", ["A"], "B"), {"mbids": {"u": "00000000-0000-0000-0000-000000000000"}})
    assert unknown.status == "not_found"
