"""Hostile input: each case gives a clear, attributed error or a clean placeholder; nothing crashes the
run, nothing is lost, nothing reaches SQL, and API keys never appear in logs, metadata, alerts or the
lakehouse."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from songnodes_assets.defs.bronze.raw_scrape_data import raw_scrape_data
from songnodes_assets.defs.jobs import GOLD_JOB_NAME, MAIN_JOB_NAME
from songnodes_assets.defs.resources import resources_from_settings
from songnodes_assets.defs.silver.tables import silver_tables
from songnodes_assets.definitions import build_definitions
from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.enrich.api_client import ApiClient, BadResponse, RetryPolicy, TransportFailure
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.lib.enrich.sources import SOURCES
from songnodes_assets.lib.enrich.sources.base import SourceConfig
from songnodes_assets.lib.http import errors
from songnodes_assets.lib.http.polite import Politeness, PoliteClient
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.matching import TrackQuery
from songnodes_assets.lib.parsing.tracklist import parse_tracklist
from songnodes_assets.lib.parsing.tracklists1001 import parse_1001tracklists
from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS
from songnodes_assets.sample_site.fake_apis import SOURCES as FAKE_SOURCES
from songnodes_assets.sample_site.fake_apis import FakeApis
from songnodes_assets.sample_site.server import SampleSite
from songnodes_assets.settings import Settings

DATE = "2024-05-01"
NASTY_LINES = [
    "Robert'); DROP TABLE tracks;-- - Exploits Of A Mom",
    'Bobby "Tables" O\'Brien - $(rm -rf /) `reboot` ; echo pwned | sh',
    "Ctrl\x00Char\x07Artist - Tit\x1ble\x7f",
    "A - B \u202e\u200b\ufeff invisible",
    "[99999:99] Absurd - Cue",
    "[1:2:3:4] Too - Many Colons",
    "%s %n %x - {0} {{}} ${HOME}",
]


@pytest.fixture
def site_env(tmp_path, monkeypatch):
    with SampleSite() as site:
        for k, v in {"SONGNODES_MIXESDB_BASE_URL": site.base_url, "SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "lake"),
                     "SONGNODES_MIXESDB_START_URLS": f"{site.base_url}/w/Special:RecentChanges",
                     "SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0", "SONGNODES_MAX_ERROR_RATE": "0.9",
                     "SONGNODES_MAX_TRIES": "1"}.items():
            monkeypatch.setenv(k, v)
        yield site, tmp_path


def bronze_silver(instance=None):
    with dg.DagsterInstance.ephemeral() as inst:
        return dg.materialize([raw_scrape_data, silver_tables], instance=instance or inst, partition_key=DATE,
                              resources=resources_from_settings(Settings.from_env()), raise_on_error=False)


def test_metacharacters_control_chars_and_absurd_cues_survive_verbatim(site_env):
    site, tmp = site_env
    site.pages = {"2024-01-01 - Hostile DJ - Nasty Show": "== Tracklist ==\n" + "\n".join(f"# {x}" for x in NASTY_LINES)}
    assert bronze_silver().success
    pt = Lakehouse(tmp / "lake").read(SILVER_PLAYLIST_TRACKS, DATE)
    assert len(pt[pt["component_of"].isna()]) == len(NASTY_LINES)  # none dropped
    assert pt.iloc[0]["artists"].tolist() == ["Robert'); DROP TABLE tracks;--"]
    assert pt.iloc[1]["title"].startswith("$(rm -rf /) `reboot`")
    assert "\x00" not in "".join(pt["raw_line"]) and "\x07" not in "".join(pt["raw_line"])
    absurd = pt[pt["raw_line"].str.contains("99999")].iloc[0]
    assert absurd["cue_seconds"] is None or str(absurd["cue_seconds"]) == "<NA>"
    assert absurd["artists"].tolist() == ["Absurd"]
    con = connect(tmp / "lake")  # stored literally and queryable
    assert con.execute("SELECT count(*) FROM silver.playlist_tracks WHERE list_contains(artists, ?)",
                       ["Robert'); DROP TABLE tracks;--"]).fetchone() == (1,)


def test_10000_line_tracklist_and_10_mb_page(site_env):
    site, tmp = site_env
    long_list = "\n".join(f"# [{i // 60}:{i % 60:02d}:00] Artist {i % 300} - Title {i}" for i in range(10_000))
    big = "== Tracklist ==\n" + long_list + "\n\n<!-- " + "x" * (10 * 1024 * 1024) + " -->\n"
    site.pages = {"2024-01-01 - Long DJ - Ten Thousand": "== Tracklist ==\n" + long_list,
                  "2024-01-02 - Big DJ - Ten Megabytes": big}
    t0 = time.time()
    assert bronze_silver().success
    lake = Lakehouse(tmp / "lake")
    pl = lake.read(SILVER_PLAYLISTS, DATE).set_index("page_title")
    assert pl.loc["2024-01-01 - Long DJ - Ten Thousand", "n_entries"] == 10_000
    assert pl.loc["2024-01-02 - Big DJ - Ten Megabytes", "n_entries"] == 10_000
    assert time.time() - t0 < 120


def test_page_over_the_size_cap_is_an_error_row(site_env, monkeypatch):
    site, tmp = site_env
    site.pages = {"2024-01-01 - Huge - Page": "== Tracklist ==\n# A - B\n" + "y" * (21 * 1024 * 1024)}
    result = bronze_silver()
    bronze = Lakehouse(tmp / "lake").read(BRONZE_RAW, DATE)
    assert list(bronze["error_kind"]) == ["body_too_large"] and not result.success  # 1 of 1 failed > budget


def test_non_utf8_and_truncated_pages(site_env):
    site, tmp = site_env
    site.pages = {"2024-01-01 - Latin - One": "placeholder", "2024-01-02 - Cut - Off": "== Tracklist ==\n# A - One\n# B - Tw"}
    latin1 = "== Tracklist ==\n# Tiësto - Adagio\n# Röyksopp - Eple\n\xff\xfe\n".encode("latin-1")
    original = site.respond

    def respond(path):  # the first page arrives as latin-1 bytes, not UTF-8
        if "Latin" in path and "action=raw" in path:
            return 200, "text/x-wiki; charset=UTF-8", latin1
        return original(path)

    site.respond = respond
    assert bronze_silver().success
    pt = Lakehouse(tmp / "lake").read(SILVER_PLAYLIST_TRACKS, DATE)
    assert {"Adagio", "Eple", "One", "Tw"} <= set(pt["title"])  # decoded with replacement, truncated line kept
    assert any("\ufffd" in " ".join(a) for a in pt["artists"])  # the undecodable byte is visible, not dropped


def test_malformed_and_truncated_html():
    html = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "1001tracklists" / "curbi_tape_06_2021-03-12.html"
    samples = ["<html><div class='tlpItem'><meta itemprop='name' content='A - B'>", "<<<>>>", "", "\x00\x01<div",
               "<div class='tlpItem'>" * 500]
    if html.exists():
        text = html.read_text(encoding="utf-8")
        samples.append(text[: len(text) // 2])
    for s in samples:
        page = parse_1001tracklists(s, "x")
        parse_tracklist(page.tracklist_lines)


class _Handler(BaseHTTPRequestHandler):
    plan: dict = {}

    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802
        mode, body = self.plan.get(self.path.split("?")[0], ("json", b"{}"))
        if mode == "slowloris":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(40):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        code = int(mode) if mode.isdigit() else 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hostile_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("source, path, body", [
    ("musicbrainz", "/ws/2/recording", b'[1, 2, 3]'),
    ("musicbrainz", "/ws/2/recording", b'{"recordings": "nope"}'),
    ("lastfm", "/2.0/", b'{"track": []}'),
    ("discogs", "/database/search", b'{"results": {}}'),
    ("getsongbpm", "/search/", b'{"search": 5}'),
    ("acousticbrainz", "/api/v1/low-level", b'{"m": {"0": {"rhythm": "fast"}}}'),
])
def test_wrong_shapes_are_attributed_errors(hostile_api, tmp_path, source, path, body):
    server, base = hostile_api
    _Handler.plan = {path: ("json", body)}
    creds = {"lastfm": {"SONGNODES_LASTFM_API_KEY": "k"}, "discogs": {"SONGNODES_DISCOGS_TOKEN": "t"},
             "getsongbpm": {"SONGNODES_GETSONGBPM_API_KEY": "g"}}.get(source, {})
    cfg = SourceConfig(source, base, True, 0, creds, [])
    client = ApiClient(source, base, limiter=SharedRateLimiter(tmp_path / "r.sqlite", source, 0), cache=None,
                       user_agent="t", policy=RetryPolicy(max_tries=1))
    with pytest.raises(BadResponse) as info:
        SOURCES[source](cfg).lookup(client, TrackQuery("t", ["A"], "B"), {"mbids": {"t": "m"}})
    assert source in str(info.value)


@pytest.mark.parametrize("source", FAKE_SOURCES)
def test_answers_with_nested_values_of_the_wrong_type_never_end_a_partition(tmp_path, monkeypatch, source):
    """Real-shaped answers whose nested values are swapped for other types (seeded fuzz, every request):
    every track still gets a row, a track whose answer cannot be read fails as bad_response."""
    from songnodes_assets.lib.enrich.runner import enrich
    from songnodes_assets.lib.enrich.sources.base import load_config

    with FakeApis() as apis:
        for key, value in apis.env().items():
            monkeypatch.setenv(key, value)
        tracks = [TrackQuery(t.track_id, t.artists, t.title, t.remixers) for t in apis.catalog[:40]]
        mbids = {t.track_id: t.mbid for t in apis.catalog[:40]}
        adapter = SOURCES[source](load_config(SOURCES[source]))
        cache = ResponseCache(tmp_path / "c.sqlite")

        def client():
            return ApiClient(source, apis.base_url_for(source), cache=cache, user_agent="t",
                             limiter=SharedRateLimiter(tmp_path / "r.sqlite", source, 0),
                             policy=RetryPolicy(max_tries=1), breaker_fail_max=10**6)

        apis.set_fault(source, "mangle")
        rows, summary = enrich(tracks, adapter, client(), scrape_date=DATE, context={"mbids": mbids})
        # The API is sane again. An answer a lookup could not read is evicted from the cache, so retries
        # recover (one a track could read may stay cached until a track fails on it: then it is evicted too).
        apis.set_fault(source, None)
        bad = [sum(r["error_class"] == "bad_response" for r in rows)]
        while bad[-1] and len(bad) < 4:
            again, _ = enrich(tracks, adapter, client(), scrape_date=DATE, context={"mbids": mbids})
            bad.append(sum(r["error_class"] == "bad_response" for r in again))
    assert bad[-1] == 0, bad
    assert [r["track_id"] for r in rows] == [t.track_id for t in tracks]
    assert {r["status"] for r in rows} <= {"matched", "not_found", "ambiguous", "failed"}
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["error_class"] for r in failed} <= {"bad_response", "auth_rejected"}
    assert all(source in r["error"] for r in failed if r["error_class"] == "bad_response")
    assert summary.failed == len(failed)


def test_slow_loris_answers_hit_the_deadline(hostile_api, tmp_path):
    server, base = hostile_api
    _Handler.plan = {"/ws/2/recording": ("slowloris", b"")}
    client = ApiClient("musicbrainz", base, limiter=SharedRateLimiter(tmp_path / "r.sqlite", "mb", 0), cache=None,
                       user_agent="t", policy=RetryPolicy(max_tries=1, read_timeout_s=1.0, max_response_s=1.0))
    t0 = time.time()
    with pytest.raises(TransportFailure):
        client.get_json("/ws/2/recording", {"query": "x"})
    assert time.time() - t0 < 3.5
    polite = PoliteClient(Politeness(user_agent="t", allowed_hosts=frozenset({urlsplit(base).netloc}), min_interval_s=0,
                                     jitter_s=0, max_tries=1, read_timeout_s=1.0, max_fetch_s=1.0, respect_robots=False))
    with pytest.raises(errors.FetchError):
        polite.get(base + "/ws/2/recording")


@pytest.mark.parametrize("status, expected", [("401", "auth_rejected"), ("403", "auth_rejected"),
                                              ("404", "not_found"), ("429", "rate_limited"), ("500", "server_error"),
                                              ("503", "server_error")])
def test_http_errors_become_row_outcomes(hostile_api, tmp_path, status, expected):
    from songnodes_assets.lib.enrich.runner import enrich

    server, base = hostile_api
    _Handler.plan = {"/ws/2/recording": (status, b'{"error": "x"}')}
    client = ApiClient("musicbrainz", base, limiter=SharedRateLimiter(tmp_path / "r.sqlite", "mb", 0), cache=None,
                       user_agent="t", policy=RetryPolicy(max_tries=2, backoff_base_s=0.01, retry_after_cap_s=0.1))
    rows, summary = enrich([TrackQuery("t", ["A"], "B")], SOURCES["musicbrainz"](SourceConfig("musicbrainz", base, True, 0, {}, [])),
                           client, scrape_date=DATE)
    row = rows[0]
    assert (row["status"] if expected == "not_found" else row["error_class"]) == expected


PLANTED = {"SONGNODES_LASTFM_API_KEY": "PLANTED-lastfm-9f3a1c", "SONGNODES_DISCOGS_TOKEN": "PLANTED-discogs-77b2",
           "SONGNODES_GETSONGBPM_API_KEY": "PLANTED-gsb-c0ffee", "SONGNODES_SPOTIFY_CLIENT_SECRET": "PLANTED-sp-5ecret"}


def test_planted_api_keys_never_leak(tmp_path, monkeypatch):
    """Keys the servers reject or even echo back never reach logs, metadata, alerts or the lakehouse."""
    from songnodes_assets.defs.automation import alert_sensors

    with SampleSite() as site, FakeApis() as apis:
        env = {**apis.env(), **PLANTED, "SONGNODES_MIXESDB_BASE_URL": site.base_url,
               "SONGNODES_MIXESDB_START_URLS": f"{site.base_url}/w/Special:RecentChanges",
               "SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "lake"), "SONGNODES_CACHE_DIR": str(tmp_path / "cache"),
               "SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0", "SONGNODES_API_MAX_TRIES": "1",
               **{f"SONGNODES_{s.upper()}_MIN_INTERVAL_S": "0" for s in FAKE_SOURCES}}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        # a hostile Last.fm that echoes the whole request (api_key included) in a 400 body
        monkeypatch.setenv("SONGNODES_LASTFM_BASE_URL", apis.base_url_for("lastfm") + "-echo")
        original = apis._handle

        def handle(h, method):
            if h.path.startswith("/lastfm-echo"):
                apis._send(h, 400, {"error": 8, "message": f"cannot serve {h.path}"})
                return None
            return original(h, method)

        apis._handle = handle
        (tmp_path / "home").mkdir()
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
        with dg.DagsterInstance.get() as instance:
            defs = build_definitions(Settings.from_env())
            main = defs.resolve_job_def(MAIN_JOB_NAME).execute_in_process(instance=instance, partition_key=DATE,
                                                                           raise_on_error=False)
            defs.resolve_job_def(GOLD_JOB_NAME).execute_in_process(instance=instance, partition_key=DATE,
                                                                   raise_on_error=False)
            for sensor in alert_sensors.alert_sensors:
                sensor(dg.build_sensor_context(instance=instance))
            events = "\n".join(str(e.message) + repr(e.event_specific_data) for e in main.all_events)
        failures = {e.step_key for e in main.all_events if e.event_type_value == "STEP_FAILURE"}
        assert {"enrichment__lastfm", "enrichment__discogs", "enrichment__getsongbpm"} <= failures
    haystack = events.encode()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            haystack += path.read_bytes()
    for key, value in PLANTED.items():
        assert value.encode() not in haystack, f"{key} leaked"
    con = connect(tmp_path / "lake")
    assert con.execute("SELECT count(*) FROM enrichment.lastfm WHERE error LIKE '%***%'").fetchone()[0] > 0
