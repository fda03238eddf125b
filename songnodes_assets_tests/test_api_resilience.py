"""The enrichment API client against the fake APIs (real sockets) with injected faults."""

import multiprocessing as mp
import time

import pytest

from songnodes_assets.lib.enrich.api_client import (ApiClient, AuthRejected, BadResponse, CircuitOpen, RetryPolicy,
                                                    ServerError, TransportFailure)
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.sample_site.fake_apis import FakeApis

MB_PATH = "/ws/2/recording"


@pytest.fixture
def apis():
    with FakeApis() as f:
        yield f


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def client(apis, tmp_path, source="musicbrainz", interval=0.0, cache=True, clock=None, **policy):
    pol = dict(connect_timeout_s=1.0, read_timeout_s=0.5, max_tries=3, backoff_base_s=0.05, backoff_max_s=0.2,
               retry_after_cap_s=5.0)
    pol.update(policy)
    return ApiClient(source, apis.base_url_for(source),
                     limiter=SharedRateLimiter(tmp_path / "rl.sqlite", source, interval),
                     cache=ResponseCache(tmp_path / "c.sqlite", **({"clock": clock} if clock else {})) if cache else None,
                     user_agent="SongNodesTest/1", policy=RetryPolicy(**pol), breaker_fail_max=3, breaker_reset_s=0.5)


def q(i=0):
    return {"query": f'recording:"Sombre Tones {i}" AND artist:"Trevino"', "fmt": "json"}


def test_429_retry_after_then_success(apis, tmp_path):
    apis.set_fault("musicbrainz", "429", remaining=1, retry_after=1)
    c = client(apis, tmp_path)
    t0 = time.monotonic()
    res = c.get_json(MB_PATH, q())
    assert res.status == 200 and time.monotonic() - t0 >= 0.95
    times = [t for t, _ in apis.log["musicbrainz"]]
    assert len(times) == 2 and times[1] - times[0] >= 0.95
    assert c.stats["http_429"] == 1 and c.stats["retries"] == 1


def test_503_burst_is_retried_with_backoff(apis, tmp_path):
    apis.set_fault("musicbrainz", "503", remaining=2)
    c = client(apis, tmp_path)
    assert c.get_json(MB_PATH, q()).status == 200
    assert apis.calls("musicbrainz") == 3 and c.stats["retries"] == 2


def test_503_beyond_the_tries_is_a_retriable_server_error(apis, tmp_path):
    apis.set_fault("musicbrainz", "503")
    with pytest.raises(ServerError) as info:
        client(apis, tmp_path).get_json(MB_PATH, q())
    assert info.value.is_retriable and info.value.attempts == 3 and apis.calls("musicbrainz") == 3


def test_timeout(apis, tmp_path):
    apis.set_fault("musicbrainz", "timeout", delay_s=1.0)
    with pytest.raises(TransportFailure):
        client(apis, tmp_path, max_tries=2).get_json(MB_PATH, q())


def test_connection_reset_is_retried(apis, tmp_path):
    apis.set_fault("musicbrainz", "reset", remaining=1)
    c = client(apis, tmp_path)
    assert c.get_json(MB_PATH, q()).status == 200
    assert c.stats["connection_errors"] == 1


def test_invalid_json(apis, tmp_path):
    apis.set_fault("musicbrainz", "invalid_json")
    with pytest.raises(BadResponse):
        client(apis, tmp_path, max_tries=2).get_json(MB_PATH, q())


def test_401_is_not_retried(apis, tmp_path):
    apis.set_fault("musicbrainz", "401")
    with pytest.raises(AuthRejected):
        client(apis, tmp_path).get_json(MB_PATH, q())
    assert apis.calls("musicbrainz") == 1


def test_circuit_breaker_opens_short_circuits_and_half_opens(apis, tmp_path):
    apis.set_fault("musicbrainz", "503")
    c = client(apis, tmp_path, max_tries=1)
    for i in range(3):
        with pytest.raises((ServerError, CircuitOpen)):
            c.get_json(MB_PATH, q(i))
    assert c.breaker_state == "open" and c.breaker_log.opened_at
    sent = apis.calls("musicbrainz")
    with pytest.raises(CircuitOpen):
        c.get_json(MB_PATH, q(9))
    assert apis.calls("musicbrainz") == sent  # open: nothing sent
    apis.set_fault("musicbrainz", None)
    time.sleep(0.6)  # reset timeout -> half-open: one trial call goes through and closes it
    assert c.get_json(MB_PATH, q(10)).status == 200
    assert c.breaker_state == "closed" and c.breaker_log.closed_at


def test_cache_ttls_and_failures_never_cached(apis, tmp_path):
    clock = Clock()
    c = client(apis, tmp_path, clock=clock)
    found = lambda s, d: 1000 if d.get("recordings") else 10  # noqa: E731
    c.get_json(MB_PATH, q(), ttl_for=found)  # unknown title -> empty search: "not found", short TTL
    c.get_json(MB_PATH, q(), ttl_for=found)
    assert apis.calls("musicbrainz") == 1 and c.stats["cache_hits"] == 1
    clock.now += 11  # not-found TTL over
    c.get_json(MB_PATH, q(), ttl_for=found)
    assert apis.calls("musicbrainz") == 2
    apis.set_fault("musicbrainz", "503")
    with pytest.raises(ServerError):
        c.get_json(MB_PATH, q(1), ttl_for=found)
    apis.set_fault("musicbrainz", None)
    c.get_json(MB_PATH, q(1), ttl_for=found)  # the failure was not cached: asked again
    assert apis.calls("musicbrainz", "Tones+1") == 4  # 3 tries of the 503 + the fresh success


def test_cache_survives_between_clients(apis, tmp_path):
    client(apis, tmp_path).get_json(MB_PATH, q(), ttl_for=lambda s, d: 100)
    again = client(apis, tmp_path)
    assert again.get_json(MB_PATH, q(), ttl_for=lambda s, d: 100).from_cache
    assert apis.calls("musicbrainz") == 1


def test_secrets_stay_out_of_cache_keys_and_errors(apis, tmp_path):
    c = client(apis, tmp_path, source="lastfm")
    c.secrets = ("sekrit-key-123",)
    key = c.cache_key("GET", "/2.0/", {"api_key": "sekrit-key-123", "track": "X"})
    assert "sekrit" not in key
    assert c.redact("failed for https://x/?api_key=sekrit-key-123") == "failed for https://x/?api_key=***"


def _hammer(path, base, interval, n, out):
    c = ApiClient("musicbrainz", base, limiter=SharedRateLimiter(path, "musicbrainz", interval), cache=None,
                  user_agent="SongNodesTest/1")
    for i in range(n):
        c.get_json(MB_PATH, {"query": f'recording:"p{mp.current_process().pid}-{i}"', "fmt": "json"}, cache=False)
    out.put(n)


def test_shared_limiter_holds_across_processes(apis, tmp_path):
    """Three processes share one limiter file: the server never sees two requests closer than the interval."""
    interval = 0.1
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(tmp_path / "shared.sqlite", apis.base_url_for("musicbrainz"),
                                                interval, 8, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert sum(out.get(timeout=5) for _ in procs) == 24
    times = sorted(t for t, _ in apis.log["musicbrainz"])
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 24 and min(gaps) >= interval * 0.9, min(gaps)
    per_second = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert per_second <= 1.0 / interval + 1
