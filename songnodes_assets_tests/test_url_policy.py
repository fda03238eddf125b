"""The one URL policy for every outbound request (crawler, API clients, alert webhook), probed with crafted
redirects between real loopback servers: an allowed one on 127.0.0.1 and "foreign" ones (127.0.0.2, and
another port of 127.0.0.1) that count every TCP connection reaching them. Also: hostile remote numbers
(Crawl-delay, Retry-After) and a MediaWiki API whose continuation never ends."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from urllib3.util import parse_url
from werkzeug import Request, Response

from songnodes_assets.lib.alerts import Alert, post_webhook
from songnodes_assets.lib.enrich.api_client import ApiClient, RedirectRefused, RetryPolicy, UrlNotAllowed
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.lib.http import errors
from songnodes_assets.lib.http.polite import CRAWL_DELAY_CAP_S, Politeness, PoliteClient, bounded_wait
from songnodes_assets.lib.http.url_policy import AllowList, Origin, UrlRefused, next_hop, parse_origin
from songnodes_assets.lib.mixesdb import MAX_CONTINUATION_PAGES, PageRef, _api_list, discover, fetch_rows

UA = "SongNodesTest/1.0 (+mailto:test@example.org)"


# ---- servers -------------------------------------------------------------------------------------------
class CountingServer:
    """A server that records every TCP connection and request line reaching it, and answers anything with
    200 (robots.txt allowing everything included): if a crawl were sent here, it would succeed."""

    def __init__(self, host: str):
        owner = self
        self.connections = 0
        self.requests: list[str] = []
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                with owner._lock:
                    owner.requests.append(f"{self.command} {self.path}")
                owner.respond(self)

            do_GET = do_POST = do_HEAD = _any  # noqa: N815

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with owner._lock:
                    owner.connections += 1
                return True

        self.server = Server((host, 0), Handler)
        self.host, self.port = host, self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, h: BaseHTTPRequestHandler) -> None:
        body = b"User-agent: *\nAllow: /\n" if h.path == "/robots.txt" else b"FOREIGN CONTENT"
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @property
    def reached(self) -> int:
        with self._lock:
            return self.connections + len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class RedirectingServer(CountingServer):
    """The allowed server (127.0.0.1): robots.txt allows everything; every other path answers ``status`` with
    ``location`` written byte for byte as its Location header (werkzeug, behind pytest-httpserver,
    percent-encodes a backslash, which would hide the attack instead of reproducing it)."""

    def __init__(self, status: int = 302):
        super().__init__("127.0.0.1")
        self.location, self.status = "", status

    def respond(self, h: BaseHTTPRequestHandler) -> None:
        if h.command == "POST":
            h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if h.path == "/robots.txt":
            body = b"User-agent: *\nAllow: /\n"
            h.send_response(200)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        h.send_response(self.status)
        h.send_header("Location", self.location)  # written as is (latin-1), never normalised
        h.send_header("Content-Length", "0")
        h.end_headers()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def redirecting(foreign):
    """``redirecting(variant_name, status)``: an allowed server redirecting every page to that variant."""
    other_host, other_port = foreign
    made = []

    def make(name: str, status: int = 302) -> RedirectingServer:
        server = RedirectingServer(status)
        server.location = variants(server.port, other_host.port, other_port.port)[name]
        made.append(server)
        return server

    yield make
    for s in made:
        s.close()


@pytest.fixture
def foreign():
    """A foreign host (127.0.0.2) and a foreign port on the allowed host (127.0.0.1)."""
    other_host, other_port = CountingServer("127.0.0.2"), CountingServer("127.0.0.1")
    yield other_host, other_port
    other_host.close()
    other_port.close()


def variants(a: int, f: int, o: int) -> dict[str, str]:
    """Redirect targets; a = allowed server's port, f = the foreign host's port, o = another port of 127.0.0.1."""
    return {
        "backslash": f"http://127.0.0.2:{f}\\@127.0.0.1:{a}/x",
        "double_backslash": f"http://127.0.0.2:{f}\\\\@127.0.0.1:{a}/x",
        "backslash_x": f"http://127.0.0.2:{f}\\x@127.0.0.1:{a}/x",
        "userinfo_backslash": f"http://user@127.0.0.2:{f}\\@127.0.0.1:{a}/x",
        "userinfo": f"http://127.0.0.1:{a}@127.0.0.2:{f}/x",
        "tab": f"http://127.0.0.2:{f}\t@127.0.0.1:{a}/x",
        "plain_foreign_host": f"http://127.0.0.2:{f}/x",
        "scheme_relative": f"//127.0.0.2:{f}/x",
        "same_host_other_port": f"http://127.0.0.1:{o}/x",
    }


VARIANT_NAMES = list(variants(1, 2, 3))


def crawler(allowed: set[str], trust: bool = True, **kw) -> PoliteClient:
    params = dict(user_agent=UA, allowed_hosts=frozenset(allowed), min_interval_s=0.0, jitter_s=0.0,
                  connect_timeout_s=2.0, read_timeout_s=2.0, max_tries=1, trust_requested_ports=trust)
    params.update(kw)
    return PoliteClient(Politeness(**params))


def bronze_row(client: PoliteClient, url: str) -> dict:
    (row,) = fetch_rows(client, [PageRef("Mix", url)], scrape_date="2024-05-01", run_id="r", already_fetched={},
                        max_age=dt.timedelta(days=1))
    return row


# ---- the ambiguity being closed ----------------------------------------------------------------------
def test_the_backslash_trick_fools_urlsplit_but_not_the_policy():
    url = "http://127.0.0.2:18081\\@127.0.0.1:18080/x"
    assert urlsplit(url).hostname == "127.0.0.1" and parse_url(url).host == "127.0.0.2"  # the old check's blind spot
    with pytest.raises(UrlRefused, match="backslash"):
        parse_origin(url)


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.2:1\\@127.0.0.1:2/x", "backslash"),
    ("http://u@127.0.0.1/x", "userinfo"),
    ("http://u:p@127.0.0.1/x", "userinfo"),
    ("http://127.0.0.1\x00.x/", "control"),
    ("http://127.0.0.1/a\r\nX-Injected: 1", "control"),
    ("http://127.0.0.1 /x", "whitespace"),
    ("http://127.0.0.1\u3000/x", "whitespace"),
    ("http://127.1/x", "non-canonical"),
    ("http://0x7f.0.0.1/x", "non-canonical"),
    ("http://2130706433/x", "non-canonical"),
    ("http://0177.0.0.1/x", "non-canonical"),
    ("http://%31%32%37.0.0.1/x", "non-canonical"),
    ("http://localhost./x", "non-canonical"),
    ("http://ex_ample.com/x", "non-canonical"),
    ("http://exämple.com/x", "non-ASCII"),
    ("http://[::ffff:127.0.0.1]/x", "non-canonical IPv6"),
    ("http://[0:0::1]/x", "non-canonical IPv6"),
    ("http://127.0.0.1:0/x", "port"),
    ("http://127.0.0.1:018080/x", "port"),
    ("http://127.0.0.1:99999/x", "port"),
    ("http://127.0.0.1:/x", "port"),
    ("http:/127.0.0.1/x", "//"),
    ("ftp://127.0.0.1/x", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("/relative", "absolute"),
])
def test_ambiguous_urls_are_refused(url, reason):
    with pytest.raises(UrlRefused, match=reason):
        parse_origin(url)


def test_canonical_urls_and_default_ports():
    assert parse_origin("http://127.0.0.1/x") == parse_origin("http://127.0.0.1:80/x") == Origin("http", "127.0.0.1", 80)
    assert parse_origin("HTTPS://WWW.MixesDB.com/w/A") == Origin("https", "www.mixesdb.com", 443)
    assert parse_origin("http://[::1]:8080/") == Origin("http", "::1", 8080)
    assert str(Origin("https", "a.b", 443)) == "https://a.b" and str(Origin("http", "::1", 81)) == "http://[::1]:81"
    assert parse_origin("http://127.0.0.1:5000/a\\b@c") == Origin("http", "127.0.0.1", 5000)  # '\' in the path is fine


def test_allow_list_compares_scheme_host_and_port():
    allow = AllowList(["www.mixesdb.com", "127.0.0.1:8080", "https://api.example.org:8443"])
    ok = ["https://www.mixesdb.com/w/A", "http://www.mixesdb.com:80/", "http://127.0.0.1:8080/", "https://127.0.0.1:8080/",
          "https://api.example.org:8443/v1"]
    bad = ["https://www.mixesdb.com:8443/", "http://www.mixesdb.com:443/", "http://127.0.0.1/", "http://127.0.0.1:8081/",
           "http://api.example.org:8443/", "https://api.example.org/", "https://mixesdb.com/"]
    assert all(allow.allows(parse_origin(u)) for u in ok)
    assert not any(allow.allows(parse_origin(u)) for u in bad)
    for entry in ("user@host", "127.1", "host:0", "a\\b", "http://h/path"):
        with pytest.raises(ValueError, match="allowed host entry"):
            AllowList([entry])


def test_next_hop_rules():
    own = parse_origin("https://api.example.org/")
    assert next_hop("https://api.example.org/a/b", "c?x=1", own=own)[0] == "https://api.example.org/a/c?x=1"
    with pytest.raises(UrlRefused, match="https -> http"):
        next_hop("https://api.example.org/a", "http://api.example.org/a", allowed=AllowList(["api.example.org"]))
    with pytest.raises(UrlRefused, match="own origin"):
        next_hop("https://api.example.org/a", "https://evil.example/a", own=own)
    with pytest.raises(UrlRefused, match="without a Location"):
        next_hop("https://api.example.org/a", None, own=own)


# ---- crawler: every redirect variant, two loopback servers --------------------------------------------
@pytest.mark.parametrize("strict", [True, False], ids=["host:port entry", "bare host as Settings builds it"])
@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_crawler_refuses_crafted_redirects_and_the_foreign_server_sees_nothing(redirecting, foreign, name, strict):
    other_host, other_port = foreign
    allowed_server = redirecting(name)
    allowed = {f"127.0.0.1:{allowed_server.port}"} if strict else {"127.0.0.1"}
    client = crawler(allowed, trust=not strict)
    row = bronze_row(client, allowed_server.url("/w/Mix?action=raw"))
    assert other_host.reached == 0 and other_port.reached == 0, (other_host.requests, other_port.requests)
    assert row["error_kind"] == "offsite_redirect" and row["status"] == 302 and row["body"] is None
    assert "redirect to" in row["error"] and "refused" in row["error"]
    shown = "127.0.0.1:%d" % other_port.port if name == "same_host_other_port" else "127.0.0.2"
    assert shown in row["error"], row["error"]  # the row names the target
    assert allowed_server.requests == ["GET /robots.txt", "GET /w/Mix?action=raw"]
    assert client.stats["refused_offsite_redirect"] == 1


@pytest.mark.parametrize("name", [n for n in VARIANT_NAMES if n not in ("scheme_relative",)])
def test_crawler_refuses_the_same_urls_asked_for_directly(httpserver, foreign, name):
    other_host, other_port = foreign
    url = variants(httpserver.port, other_host.port, other_port.port)[name]
    strict = crawler({f"127.0.0.1:{httpserver.port}"}, trust=False)
    assert bronze_row(strict, url)["error_kind"] in ("unsafe_url", "host_not_allowed")
    assert strict.stats["requests"] == 0
    trusting = crawler({"127.0.0.1"}, trust=True)
    row = bronze_row(trusting, url)
    if name == "same_host_other_port":  # our own code may ask for another port of a listed bare host...
        assert row["error_kind"] is None and other_port.requests == ["GET /robots.txt", "GET /x"]
    else:  # ...but nothing ambiguous and no unlisted host, ever
        assert row["error_kind"] in ("unsafe_url", "host_not_allowed") and trusting.stats["requests"] == 0
    assert other_host.reached == 0


def test_bare_host_means_default_port_when_not_trusting_requested_ports(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/w/A").respond_with_data("ok")
    with pytest.raises(errors.HostNotAllowed, match="not in the allowed hosts"):
        crawler({"127.0.0.1"}, trust=False).get(httpserver.url_for("/w/A"))
    assert httpserver.log == []
    assert crawler({f"127.0.0.1:{httpserver.port}"}, trust=False).get(httpserver.url_for("/w/A")).body == b"ok"


def test_redirect_to_another_allowed_origin_reads_robots_there_first(httpserver, foreign):
    _, second = foreign  # 127.0.0.1:<other port>, now explicitly allowed
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/w/A").respond_with_data("", status=301,
                                                        headers={"Location": f"http://127.0.0.1:{second.port}/w/B"})
    client = crawler({f"127.0.0.1:{httpserver.port}", f"127.0.0.1:{second.port}"}, trust=False)
    res = client.get(httpserver.url_for("/w/A"))
    assert res.body == b"FOREIGN CONTENT" and res.final_url == f"http://127.0.0.1:{second.port}/w/B"
    assert second.requests == ["GET /robots.txt", "GET /w/B"]


def test_redirect_loop_stops_after_max_redirects(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(errors.TooManyRedirects):
        crawler({"127.0.0.1"}, max_redirects=3).get(httpserver.url_for("/loop"))
    assert sum(r.path == "/loop" for r, _ in httpserver.log) == 4


def test_settings_built_crawler_keeps_its_base_port_and_refuses_others(httpserver, foreign, monkeypatch):
    """Politeness as MixesDBResource.client builds it from Settings (which, today, lists the base URL's host
    without its port): the configured base URL's own port works, a redirect to another port does not."""
    from songnodes_assets.settings import Settings

    _, other_port = foreign
    base = httpserver.url_for("").rstrip("/")
    monkeypatch.setenv("SONGNODES_MIXESDB_BASE_URL", base)
    s = Settings.from_env()
    client = PoliteClient(Politeness(user_agent=s.user_agent, allowed_hosts=frozenset(s.allowed_hosts),
                                     min_interval_s=0.0, jitter_s=0.0, max_tries=s.max_tries,
                                     retry_after_cap_s=s.retry_after_cap_s))
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/w/A").respond_with_data("wikitext")
    httpserver.expect_request("/w/B").respond_with_data("", status=302,
                                                        headers={"Location": f"http://127.0.0.1:{other_port.port}/x"})
    assert client.get(base + "/w/A").body == b"wikitext"
    with pytest.raises(errors.OffsiteRedirect):
        client.get(base + "/w/B")
    assert other_port.reached == 0


# ---- API clients -------------------------------------------------------------------------------------
def api(httpserver, tmp_path, **policy) -> ApiClient:
    return ApiClient("musicbrainz", httpserver.url_for("/api"), cache=None, user_agent=UA,
                     limiter=SharedRateLimiter(tmp_path / "rl.sqlite", "musicbrainz", 0),
                     policy=RetryPolicy(**{"max_tries": 1, **policy}), secrets=("planted-api-secret",))


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_api_client_refuses_redirects_off_its_base(redirecting, foreign, tmp_path, name):
    other_host, other_port = foreign
    server = redirecting(name)
    client = ApiClient("musicbrainz", server.url("/api"), cache=None, user_agent=UA,
                       limiter=SharedRateLimiter(tmp_path / "rl.sqlite", "musicbrainz", 0),
                       policy=RetryPolicy(max_tries=1), secrets=("planted-api-secret",))
    with pytest.raises(RedirectRefused, match="refused") as info:
        client.get_json("/ws", {"api_key": "planted-api-secret"})
    assert other_host.reached == 0 and other_port.reached == 0
    assert info.value.error_class == "redirect_refused" and "planted-api-secret" not in str(info.value)
    assert client.stats["calls"] == 1 and client.stats["refused_redirects"] == 1
    assert server.requests == ["GET /api/ws?api_key=planted-api-secret"]


def test_api_client_follows_same_origin_redirects_hop_by_hop(httpserver, tmp_path):
    httpserver.expect_request("/api/old").respond_with_data("", status=301, headers={"Location": "/api/new?x=1"})
    httpserver.expect_request("/api/new").respond_with_json({"ok": True})
    seen = []
    httpserver.expect_request("/api/token", method="POST").respond_with_data(
        "", status=307, headers={"Location": "/api/token2"})
    httpserver.expect_request("/api/token2", method="POST").respond_with_handler(
        lambda r: (seen.append(r.get_data()), Response(json.dumps({"access_token": "t"}),
                                                       content_type="application/json"))[1])
    client = api(httpserver, tmp_path)
    assert client.get_json("/old", {"q": "a"}).data == {"ok": True}
    assert client.stats["calls"] == 2 and client.stats["redirects"] == 1
    assert client.get_json(httpserver.url_for("/api/token"), method="POST", data={"grant_type": "x"},
                           cache=False).data == {"access_token": "t"}
    assert seen == [b"grant_type=x"]  # 307 keeps the method and the body


def test_api_client_redirect_loop_is_refused(httpserver, tmp_path):
    httpserver.expect_request("/api/loop").respond_with_data("", status=302, headers={"Location": "/api/loop"})
    with pytest.raises(RedirectRefused, match="more than 3 redirects"):
        api(httpserver, tmp_path, max_redirects=3).get_json("/loop")
    assert len(httpserver.log) == 4


def test_api_client_refuses_a_path_that_changes_the_authority(httpserver, foreign, tmp_path):
    other_host, _ = foreign
    client = ApiClient("x", f"http://127.0.0.1:{httpserver.port}", cache=None, user_agent=UA,
                       limiter=SharedRateLimiter(tmp_path / "rl.sqlite", "x", 0), policy=RetryPolicy(max_tries=1))
    for path in (f"@127.0.0.2:{other_host.port}/x", f"\\@127.0.0.2:{other_host.port}/x"):
        with pytest.raises(UrlNotAllowed):
            client.get_json(path)
    assert other_host.reached == 0 and httpserver.log == []


# ---- the alert webhook -------------------------------------------------------------------------------
def _alert():
    return Alert("id1", dt.datetime.now(dt.timezone.utc), "alert_x", "k", "critical", "firing", "m", None, None)


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_webhook_refuses_redirects_off_its_origin(redirecting, foreign, name):
    other_host, other_port = foreign
    server = redirecting(name, status=307)
    error = post_webhook(server.url("/hook"), [_alert()])
    assert error and "refused" in error, error
    assert other_host.reached == 0 and other_port.reached == 0 and server.requests == ["POST /hook"]


def test_webhook_follows_a_same_origin_redirect_with_the_payload(httpserver):
    got = []
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=308, headers={"Location": "/hook2"})
    httpserver.expect_request("/hook2", method="POST").respond_with_handler(
        lambda r: (got.append(json.loads(r.data)), Response("ok"))[1])
    assert post_webhook(httpserver.url_for("/hook"), [_alert()]) is None
    assert got and got[0]["alerts"][0]["alert_id"] == "id1"


def test_webhook_url_with_an_ambiguous_authority_is_never_contacted(httpserver, foreign):
    other_host, _ = foreign
    url = f"http://127.0.0.2:{other_host.port}\\@127.0.0.1:{httpserver.port}/hook"
    assert post_webhook(url, [_alert()]).startswith("webhook URL refused: backslash")
    assert "hooks-password" not in post_webhook(f"http://u:hooks-password@127.0.0.1:{httpserver.port}/h", [_alert()])
    assert other_host.reached == 0 and httpserver.log == []


# ---- hostile numbers -----------------------------------------------------------------------------------
class Sleeps(list):
    def __call__(self, seconds):
        assert math.isfinite(seconds) and seconds >= 0, seconds
        self.append(seconds)


@pytest.mark.parametrize("value", ["1e9", "1e20", "1e400", "99999999999999999999999", "inf", "nan", "-5", "abc"])
def test_crawl_delay_is_capped_and_never_crashes(httpserver, value):
    httpserver.expect_request("/robots.txt").respond_with_data(f"User-agent: *\nCrawl-delay: {value}\n")
    httpserver.expect_request("/w/A").respond_with_data("== Tracklist ==\n# A - B\n")
    httpserver.expect_request("/w/B").respond_with_data("== Tracklist ==\n# C - D\n")
    sleeps = Sleeps()
    client = PoliteClient(Politeness(user_agent=UA, allowed_hosts=frozenset({f"127.0.0.1:{httpserver.port}"}),
                                     min_interval_s=0.0, jitter_s=0.0, max_tries=1), sleep=sleeps)
    rows = list(fetch_rows(client, [PageRef("A", httpserver.url_for("/w/A")), PageRef("B", httpserver.url_for("/w/B"))],
                           scrape_date="2024-05-01", run_id="r", already_fetched={}, max_age=dt.timedelta(days=1)))
    assert [r["error_kind"] for r in rows] == [None, None]
    delay = client.crawl_delay(httpserver.url_for("/w/A"))
    assert delay is None or 0 <= delay <= CRAWL_DELAY_CAP_S
    assert all(s <= CRAWL_DELAY_CAP_S for s in sleeps)
    if value in ("1e9", "1e20", "99999999999999999999999"):
        assert delay == CRAWL_DELAY_CAP_S == 60.0  # read as 60 s, not 31 years (1e9) or an OverflowError (1e20)
        assert len(sleeps) == 2 and all(59 < s <= 60 for s in sleeps)  # both pages after robots.txt waited 60 s


RETRY_AFTERS = ["1e20", "99999999999999999999999", "9" * 400, "inf", "nan", "-5", "²",
                "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"]


@pytest.mark.parametrize("value", RETRY_AFTERS)
def test_retry_after_is_capped_for_the_crawler(httpserver, value):
    answers = [Response("busy", status=429, headers={"Retry-After": value}), Response("fine")]
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/w/A").respond_with_handler(lambda r: answers.pop(0))
    sleeps = Sleeps()
    client = PoliteClient(Politeness(user_agent=UA, allowed_hosts=frozenset({f"127.0.0.1:{httpserver.port}"}),
                                     min_interval_s=0, jitter_s=0, max_tries=2, backoff_base_s=0.01,
                                     retry_after_cap_s=5.0), sleep=sleeps, rng=random.Random(1))
    assert client.get(httpserver.url_for("/w/A")).body == b"fine"
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 5.0


@pytest.mark.parametrize("value", RETRY_AFTERS)
def test_retry_after_is_capped_for_the_api_clients(httpserver, tmp_path, value):
    answers = [Response("{}", status=503, headers={"Retry-After": value}), Response('{"ok": 1}')]
    httpserver.expect_request("/api/ws").respond_with_handler(lambda r: answers.pop(0))
    sleeps = Sleeps()
    client = ApiClient("musicbrainz", httpserver.url_for("/api"), cache=None, user_agent=UA, sleep=sleeps,
                       limiter=SharedRateLimiter(tmp_path / "rl.sqlite", "musicbrainz", 0),
                       policy=RetryPolicy(max_tries=2, backoff_base_s=0.01, retry_after_cap_s=0.2))
    assert client.get_json("/ws").data == {"ok": 1}
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.2


def test_bounded_wait_edges():
    assert bounded_wait(None, 5) is None
    assert [bounded_wait(v, 5) for v in (1e20, math.inf, math.nan, -5, 3)] == [5, 5, 5, 0, 3]
    assert bounded_wait(10, math.nan) == 0 and bounded_wait(10, -1) == 0 and bounded_wait(1e9, math.inf) == 86400


# ---- MediaWiki continuation ----------------------------------------------------------------------------
def _mediawiki(httpserver, advance=True):
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request.args.get("rccontinue"))
        n = len(calls) if advance else 1
        return Response(json.dumps({"query": {"recentchanges": [{"title": f"Mix {len(calls)}"}]},
                                    "continue": {"rccontinue": f"2024|{n}", "continue": "-||"}}),
                        content_type="application/json")

    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/w/api.php").respond_with_handler(handler)
    return calls


def test_endless_continuation_stops_after_the_page_cap_with_a_log_line(httpserver):
    calls = _mediawiki(httpserver)
    base, logs = httpserver.url_for("").rstrip("/"), []
    refs = discover(crawler({"127.0.0.1"}), base, [base + "/w/Special:RecentChanges"], limit=10_000, log=logs.append)
    assert len(calls) == MAX_CONTINUATION_PAGES + 1 == 21 and len(refs) == 21
    assert any("stopped early" in m and "continuation pages" in m for m in logs), logs


def test_repeated_continuation_stops_at_once(httpserver):
    calls = _mediawiki(httpserver, advance=False)
    base, logs = httpserver.url_for("").rstrip("/"), []
    discover(crawler({"127.0.0.1"}), base, [base + "/w/Special:RecentChanges"], limit=10_000, log=logs.append)
    assert len(calls) == 2 and any("same continuation" in m for m in logs)


def test_continuation_time_budget(httpserver):
    calls = _mediawiki(httpserver)
    logs = []
    titles = _api_list(crawler({"127.0.0.1"}), httpserver.url_for("").rstrip("/"), "recentchanges", {}, 10_000,
                       log=logs.append, max_seconds=0.0)
    assert len(calls) == 1 and titles == ["Mix 1"] and any("s spent" in m for m in logs)
