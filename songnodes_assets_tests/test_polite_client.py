"""The polite HTTP client against a real local HTTP server (pytest-httpserver on 127.0.0.1)."""

import random
import threading
import time

import pytest
from werkzeug import Request, Response

from songnodes_assets.lib.http import errors
from songnodes_assets.lib.http.polite import Politeness, PoliteClient, parse_retry_after
from songnodes_assets.lib.mixesdb import PageRef, fetch_rows

UA = "SongNodesTest/1.0 (+mailto:test@example.org)"


class MaxJitter(random.Random):
    """Makes 'full jitter' deterministic: always the top of the interval."""

    def uniform(self, a, b):
        return b


def client_for(httpserver, **kw) -> PoliteClient:
    params = dict(user_agent=UA, allowed_hosts=frozenset({f"127.0.0.1:{httpserver.port}"}), min_interval_s=0.0, jitter_s=0.0,
                  connect_timeout_s=2.0, read_timeout_s=2.0, max_tries=3, backoff_base_s=0.2, backoff_max_s=2.0,
                  retry_after_cap_s=5.0)
    params.update(kw)
    return PoliteClient(Politeness(**params), rng=MaxJitter())


def robots(httpserver, text="User-agent: *\nAllow: /\n"):
    httpserver.expect_request("/robots.txt").respond_with_data(text, content_type="text/plain")


def timed(times, response: Response):
    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        return response
    return handler


def sequence(times, *responses: Response):
    """A handler answering with each response in turn (the last one repeats), recording arrival times."""
    queue = list(responses)

    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return handler


def test_sends_identifying_user_agent(httpserver):
    robots(httpserver)
    seen = []
    httpserver.expect_request("/w/A").respond_with_handler(
        lambda r: (seen.append(r.headers.get("User-Agent")), Response("ok"))[1])
    client_for(httpserver).get(httpserver.url_for("/w/A"))
    assert seen == [UA]


def test_robots_disallow_is_honoured_without_requesting_the_page(httpserver):
    robots(httpserver, "User-agent: *\nDisallow: /private\n")
    httpserver.expect_request("/private/page").respond_with_data("secret")
    c = client_for(httpserver)
    with pytest.raises(errors.RobotsDisallowed):
        c.get(httpserver.url_for("/private/page"))
    assert [r.path for r, _ in httpserver.log] == ["/robots.txt"]
    assert c.stats["refused_robots"] == 1


def test_robots_agent_specific_rules(httpserver):
    robots(httpserver, "User-agent: SongNodesTest\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    with pytest.raises(errors.RobotsDisallowed):
        client_for(httpserver).get(httpserver.url_for("/w/A"))


def test_crawl_delay_spaces_requests(httpserver):
    robots(httpserver, "User-agent: *\nCrawl-delay: 1\n")
    times = []
    for p in ("/a", "/b", "/c"):
        httpserver.expect_request(p).respond_with_handler(timed(times, Response("ok")))
    c = client_for(httpserver)
    for p in ("/a", "/b", "/c"):
        c.get(httpserver.url_for(p))
    assert c.crawl_delay(httpserver.url_for("/a")) == 1.0
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) == 2 and all(g >= 0.98 for g in gaps), gaps


def test_min_interval_applies_without_crawl_delay(httpserver):
    robots(httpserver)
    times = []
    httpserver.expect_request("/x").respond_with_handler(timed(times, Response("ok")))
    c = client_for(httpserver, min_interval_s=0.4)
    c.get(httpserver.url_for("/x"))
    c.get(httpserver.url_for("/x"))
    assert times[1] - times[0] >= 0.39


def test_429_retry_after_is_waited_then_retried(httpserver):
    robots(httpserver)
    times = []
    httpserver.expect_request("/busy").respond_with_handler(
        sequence(times, Response("slow down", status=429, headers={"Retry-After": "1"}), Response("fine")))
    c = client_for(httpserver, backoff_base_s=0.01)
    res = c.get(httpserver.url_for("/busy"))
    assert res.status == 200 and res.body == b"fine" and res.attempts == 2
    assert times[1] - times[0] >= 0.98
    assert c.stats["retries_429"] == 1


def test_retry_after_is_capped(httpserver):
    robots(httpserver)
    times = []
    httpserver.expect_request("/busy").respond_with_handler(
        sequence(times, Response("", status=429, headers={"Retry-After": "3600"}), Response("ok")))
    res = client_for(httpserver, retry_after_cap_s=0.3).get(httpserver.url_for("/busy"))
    assert res.status == 200 and 0.28 <= times[1] - times[0] < 5


def test_503_retried_with_exponential_backoff(httpserver):
    robots(httpserver)
    times = []
    httpserver.expect_request("/flaky").respond_with_handler(
        sequence(times, Response("", status=503), Response("", status=503), Response("at last")))
    c = client_for(httpserver, backoff_base_s=0.2)
    res = c.get(httpserver.url_for("/flaky"))
    assert res.body == b"at last" and res.attempts == 3 and c.stats["retries"] == 2
    g1, g2 = times[1] - times[0], times[2] - times[1]
    assert g1 >= 0.19 and g2 >= 0.39  # 0.2 * 2^0, 0.2 * 2^1 (jitter pinned to its maximum)


def test_503_gives_up_after_max_tries(httpserver):
    robots(httpserver)
    httpserver.expect_request("/down").respond_with_data("", status=503)
    with pytest.raises(errors.HttpStatusError) as info:
        client_for(httpserver, backoff_base_s=0.01, max_tries=3).get(httpserver.url_for("/down"))
    assert info.value.status == 503 and info.value.attempts == 3
    assert sum(1 for r, _ in httpserver.log if r.path == "/down") == 3


def test_404_is_not_retried(httpserver):
    robots(httpserver)
    httpserver.expect_request("/gone").respond_with_data("", status=404)
    with pytest.raises(errors.HttpStatusError) as info:
        client_for(httpserver).get(httpserver.url_for("/gone"))
    assert info.value.status == 404
    assert sum(1 for r, _ in httpserver.log if r.path == "/gone") == 1


def test_timeout_is_retried_then_reported(httpserver):
    robots(httpserver)

    release = threading.Event()

    def slow(request):
        release.wait(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    try:
        with pytest.raises(errors.TransportError):
            client_for(httpserver, read_timeout_s=0.3, max_tries=2, backoff_base_s=0.01).get(httpserver.url_for("/slow"))
    finally:
        release.set()


def test_connection_refused_is_a_transport_error():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    c = PoliteClient(Politeness(user_agent=UA, allowed_hosts=frozenset({f"127.0.0.1:{port}"}), min_interval_s=0,
                                jitter_s=0, max_tries=2, backoff_base_s=0.01, respect_robots=False), rng=MaxJitter())
    with pytest.raises(errors.TransportError):
        c.get(f"http://127.0.0.1:{port}/x")


def test_redirect_off_the_allowed_host_is_refused(httpserver):
    robots(httpserver)
    offsite = f"http://localhost:{httpserver.port}/elsewhere"
    httpserver.expect_request("/go").respond_with_data("", status=302, headers={"Location": offsite})
    with pytest.raises(errors.OffsiteRedirect):
        client_for(httpserver).get(httpserver.url_for("/go"))
    assert "/elsewhere" not in [r.path for r, _ in httpserver.log]


def test_redirect_on_the_same_host_is_followed(httpserver):
    robots(httpserver)
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data("here")
    res = client_for(httpserver).get(httpserver.url_for("/old"))
    assert res.body == b"here" and res.final_url.endswith("/new") and res.url.endswith("/old")


def test_hosts_outside_the_allow_list_are_never_contacted():
    c = PoliteClient(Politeness(user_agent=UA, allowed_hosts=frozenset({"127.0.0.1"})))
    for url in ("http://example.invalid/w/X", "ftp://127.0.0.1/x", "file:///etc/passwd"):
        with pytest.raises(errors.HostNotAllowed):
            c.get(url)
    assert c.stats["requests"] == 0


def test_one_request_at_a_time_per_host():
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # a server that could serve in parallel
    server.start()
    try:
        robots(server)
        active, overlaps = [], []
        lock = threading.Lock()

        def handler(request):
            with lock:
                active.append(1)
                if len(active) > 1:
                    overlaps.append(True)
            time.sleep(0.05)
            with lock:
                active.pop()
            return Response("ok")

        server.expect_request("/p").respond_with_handler(handler)
        c = client_for(server)
        threads = [threading.Thread(target=c.get, args=(server.url_for("/p"),)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not overlaps
        assert c.stats["requests"] == 5  # robots.txt once + 4 pages
    finally:
        server.clear()
        server.stop()


def test_robots_5xx_means_stay_away(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("", status=500)
    with pytest.raises(errors.RobotsDisallowed, match="could not be read .*so the site counts as disallowed"):
        client_for(httpserver, backoff_base_s=0.01).get(httpserver.url_for("/w/A"))


def test_unreachable_robots_says_so_instead_of_blaming_the_rules():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = client_for(type("Server", (), {"port": port})(), backoff_base_s=0.01, max_tries=1)
    with pytest.raises(errors.RobotsDisallowed, match=r"could not be read \(TransportError.*counts as disallowed.*nothing was fetched"):
        client.get(f"http://127.0.0.1:{port}/w/A")


def test_missing_robots_allows_everything(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/w/A").respond_with_data("ok")
    assert client_for(httpserver).get(httpserver.url_for("/w/A")).status == 200


def test_parse_retry_after_forms():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    import email.utils
    assert 58 <= parse_retry_after(email.utils.formatdate(now + 60, usegmt=True), now=now) <= 61


# ---- pages that are not content: reported as errors, never as empty tracklists -----------------
OUR_CAPTCHA = ('<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>'
               '<form method="POST"><input type="hidden" name="captcha" value="1"></form></body></html>')


def _rows(httpserver, body, content_type="text/x-wiki; charset=UTF-8"):
    robots(httpserver)
    httpserver.expect_request("/w/Mix").respond_with_data(body, content_type=content_type)
    import datetime as dt
    return list(fetch_rows(client_for(httpserver), [PageRef("Mix", httpserver.url_for("/w/Mix") + "?action=raw")],
                           scrape_date="2024-05-01", run_id="r", already_fetched={},
                           max_age=dt.timedelta(days=1)))


def test_captcha_page_is_an_error_row(httpserver):
    (row,) = _rows(httpserver, OUR_CAPTCHA, "text/html")
    assert row["error_kind"] == "anti_bot" and row["body"] == OUR_CAPTCHA.encode()  # kept for inspection


def test_real_captcha_pages_are_detected(httpserver, corpus):
    from songnodes_assets.lib.http.page_checks import block_reason
    for path in sorted((corpus / "1001tracklists").glob("captcha_*.html")):
        assert block_reason(path.read_bytes(), "text/html", expect_html=True), path.name
    for path in sorted((corpus / "1001tracklists").glob("*_20*.html")):
        if not path.name.startswith("captcha_"):
            assert block_reason(path.read_bytes(), "text/html", expect_html=True) is None, path.name


def test_empty_page_is_an_error_row(httpserver):
    (row,) = _rows(httpserver, "   \n")
    assert row["error_kind"] == "empty_page"


def test_html_where_wikitext_was_expected_is_an_error_row(httpserver):
    (row,) = _rows(httpserver, "<html><body>Maintenance</body></html>", "text/html")
    assert row["error_kind"] == "anti_bot"


def test_wikitext_page_is_fine(httpserver):
    (row,) = _rows(httpserver, "== Tracklist ==\n# A - B\n")
    assert row["error_kind"] is None and row["status"] == 200 and len(row["sha256"]) == 64
