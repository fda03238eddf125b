"""Shared API state (SONGNODES_STATE_URL): the same behavioural tests on both backends (SQLite files under
SONGNODES_CACHE_DIR, PostgreSQL in a scratch database of the real server at 127.0.0.1:5432), the setting's
validation, an unreachable or lost server, and two worker processes sending through the real API client
to a fake API that timestamps arrivals: together they stay at the quota."""

import multiprocessing as mp
import os
import threading
import time

import pytest

from songnodes_assets.lib.enrich.state_backend import SqliteState, open_state
from songnodes_assets.settings import Settings, state_url
from songnodes_assets_tests.pg import PG, admin_connection, temporary_database

CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:9/songnodes_nothing_here"


@pytest.fixture(scope="module")
def pg_url():
    admin_connection().close()  # skips (outside CI) when there is no server
    if PG["password"]:
        os.environ.setdefault("PGPASSWORD", PG["password"])  # the URL may not hold it
    with temporary_database(f"songnodes_state_test_{os.getpid()}") as name:
        yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def _truncate(url: str) -> None:
    with open_state(url, "/nonexistent") as state:
        state.run(lambda cur: cur.execute("TRUNCATE songnodes_state.slots, songnodes_state.responses, "
                                          "songnodes_state.health"))


@pytest.fixture(params=["sqlite", "postgresql"])
def make(request, tmp_path):
    """``make()`` opens one more backend on the same shared state: a process (SQLite) or host (PostgreSQL)."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        _truncate(url)
    opened = []

    def make():
        opened.append(open_state(url, tmp_path / "cache"))
        return opened[-1]

    yield make
    for state in opened:
        state.close()


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


# ---- limiter ------------------------------------------------------------------------------------

def test_reservations_from_many_callers_never_share_a_slot(make):
    """40 reservations by 4 threads, each on its own backend (connection): one slot each, interval apart."""
    interval, slots, lock = 1.0, [], threading.Lock()
    limiters = [make().limiter("musicbrainz", interval) for _ in range(4)]

    def work(lim):
        for _ in range(10):
            slot = lim.reserve()
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=work, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:])]
    # reserve() returns the local clock plus the server's wait, so one transaction's latency jitter (tens of ms
    # on a loaded 2-core CI box) shows in a gap; slots shared (no row lock) would show gaps near 0
    assert len(slots) == 40 and min(gaps) >= interval - 0.06 and max(gaps) <= interval + 0.1, gaps
    assert slots[0] - time.time() < 1.0  # the schedule started from now, not from some other clock


def test_sends_are_spaced_even_when_the_previous_sender_was_late(make):
    """A caller oversleeps its slot by half an interval; the next one still waits interval (+ margin) after
    that late send, not merely until its own slot."""
    interval = 0.3
    first, late, nxt = (make().limiter("discogs", interval) for _ in range(3))
    late._sleep = lambda s: time.sleep(s + 0.5 * interval)  # scheduling hiccup between slot and send
    first.acquire()
    sends = {}

    def go(name, lim):
        lim.acquire()
        sends[name] = time.time()

    t_late = threading.Thread(target=go, args=("late", late))
    t_late.start()
    time.sleep(0.05)  # "late" reserved first
    go("next", nxt)
    t_late.join(10)
    assert sends["next"] - sends["late"] >= interval, sends
    assert nxt.waited_s >= interval  # it waited for the late send, not only for its slot


def test_push_back_delays_every_caller_and_never_pulls_the_schedule_earlier(make):
    a, b = make().limiter("spotify", 0.05), make().limiter("spotify", 0.05)
    a.acquire()
    b.push_back(0.5)  # Retry-After seen by another process or host
    t0 = time.time()
    a.acquire()
    assert time.time() - t0 >= 0.45
    c = make().limiter("lastfm", 1.0)
    for _ in range(3):
        c.reserve()  # next free slot is ~3 s away
    c.push_back(0.01)
    assert c.reserve() - time.time() >= 2.5


# ---- cache ----------------------------------------------------------------------------------------

def test_cache_ttl_replace_delete_and_count(make):
    clock = Clock()
    writer, reader = make().cache(clock=clock), make().cache(clock=clock)
    writer.put("musicbrainz", "GET /a?q=1", 200, {"title": "Tiësto", "n": [1, 2]}, ttl_s=60)
    writer.put("musicbrainz", "GET /b", 200, {"x": 1}, ttl_s=0)  # a failure's TTL: never stored
    writer.put("discogs", "GET /a?q=1", 404, {"results": []}, ttl_s=3600)
    assert reader.get("musicbrainz", "GET /a?q=1") == (200, {"title": "Tiësto", "n": [1, 2]})
    assert reader.get("musicbrainz", "GET /b") is None
    assert reader.count() == 2 and reader.count("discogs") == 1
    writer.put("musicbrainz", "GET /a?q=1", 200, {"title": "new"}, ttl_s=60)  # replaced, not duplicated
    assert reader.get("musicbrainz", "GET /a?q=1") == (200, {"title": "new"}) and reader.count() == 2
    clock.now += 61
    assert reader.get("musicbrainz", "GET /a?q=1") is None  # expired
    assert reader.get("discogs", "GET /a?q=1") == (404, {"results": []})
    reader.delete("discogs", ["GET /a?q=1", "GET /never"])
    assert reader.get("discogs", "GET /a?q=1") is None and reader.count("discogs") == 0


# ---- health ---------------------------------------------------------------------------------------

def test_health_upserts_breaker_and_throttled_success(make):
    clock = Clock()
    t0 = clock.now
    host_a, host_b = make().health(clock=clock), make().health(clock=clock)
    assert host_b.get("spotify") is None
    host_a.failure("spotify")
    host_a.breaker_opened("spotify")
    row = host_b.get("spotify")
    assert row == {"source": "spotify", "breaker_state": "open", "opened_at": t0, "closed_at": None,
                   "last_success_at": None, "last_failure_at": t0}
    clock.now += 1
    host_b.success("spotify")  # a success elsewhere closes the breaker
    row = host_a.get("spotify")
    assert row["breaker_state"] == "closed" and row["closed_at"] == row["last_success_at"] == t0 + 1
    assert row["opened_at"] == row["last_failure_at"] == t0  # columns not written are kept
    clock.now += 1
    host_b.success("spotify")  # within 5 s of the last write: not written again
    assert host_a.get("spotify")["last_success_at"] == t0 + 1
    clock.now += 5
    host_b.success("spotify")
    assert host_a.get("spotify")["last_success_at"] == t0 + 7


def test_alert_sensor_sees_the_health_another_host_wrote(pg_url, tmp_path, monkeypatch):
    import dagster as dg

    from songnodes_assets.defs.automation import alert_sensors as s

    _truncate(pg_url)
    now = time.time()
    with open_state(pg_url, tmp_path / "host_a_cache") as host_a:  # another host's cache dir: not read
        host_a.health(clock=lambda: now - 3 * 3600).success("discogs")
        host_a.health(clock=lambda: now - 600).breaker_opened("discogs")
        host_a.health().failure("discogs")
    monkeypatch.setenv("SONGNODES_LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("SONGNODES_STATE_URL", pg_url)
    with dg.DagsterInstance.ephemeral() as instance:
        result = s.alert_enrichment_health(dg.build_sensor_context(instance=instance))
    reason = getattr(result, "skip_reason", None) or str(result)
    assert "breaker_open:discogs" in str(reason) and "no_successful_call:discogs" in str(reason), reason
    assert not (tmp_path / "host_a_cache").exists() and not (tmp_path / "api_cache").exists()  # no local files


def test_cached_answers_echoing_a_key_are_stored_redacted(pg_url, httpserver):
    """The PostgreSQL cache holds what the SQLite one holds: the API client's redacted answer, no key."""
    import json

    from werkzeug import Response

    from songnodes_assets.lib.enrich.api_client import ApiClient, RetryPolicy

    _truncate(pg_url)
    key = "planted-Key-4711"
    httpserver.expect_request("/lastfm/2.0/").respond_with_handler(
        lambda r: Response(json.dumps({"echo": r.url, "message": f"you sent api_key={r.args['api_key']}"}),
                           content_type="application/json"))
    with open_state(pg_url, "/nonexistent") as state:
        client = ApiClient("lastfm", httpserver.url_for("/lastfm"), limiter=state.limiter("lastfm", 0),
                           cache=state.cache(), health=state.health(), user_agent="SongNodesTest/1",
                           secrets=(key,), policy=RetryPolicy(max_tries=1))
        first = client.get_json("/2.0/", {"method": "track.getInfo", "api_key": key}, ttl_for=lambda s, b: 60)
        again = client.get_json("/2.0/", {"method": "track.getInfo", "api_key": key}, ttl_for=lambda s, b: 60)
        dump = state.run(lambda cur: [cur.execute(f"SELECT * FROM songnodes_state.{t}") or cur.fetchall()
                                      for t in ("slots", "responses", "health")])
    assert key in httpserver.log[0][0].url and again.from_cache and again.data == first.data
    assert "***" in json.dumps(first.data) and len(dump[1]) == 1
    assert key.lower() not in repr(dump).lower()


# ---- the setting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["postgresql://songnodes@db.internal:5433/songnodes",
                                   "postgres://db.internal/songnodes", "postgresql://u@10.0.0.5/state?sslmode=require"])
def test_state_url_accepted(value, monkeypatch):
    monkeypatch.setenv("SONGNODES_STATE_URL", value)
    assert Settings.from_env().state_url == value


@pytest.mark.parametrize("value, says", [
    ("sqlite:///tmp/state.sqlite", "not supported"), ("redis://:hunter2@127.0.0.1:6379/0", "not supported"),
    ("/var/lib/songnodes", "not supported"), ("postgresql://u@host:notaport/db", "must look like"),
    ("postgresql://u@host:5432", "must look like"), ("postgresql:///db", "must look like"),
    ("postgresql://u:hunter2@host/db", "must not contain a password"),
    ("postgresql://u@host/db?password=hunter2", "must not contain a password")])
def test_state_url_refused_naming_the_setting(value, says, monkeypatch):
    monkeypatch.setenv("SONGNODES_STATE_URL", value)
    with pytest.raises(ValueError) as info:
        Settings.from_env()
    assert "SONGNODES_STATE_URL" in str(info.value) and says in str(info.value)
    assert "hunter2" not in str(info.value)


def test_unset_means_sqlite_files_under_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGNODES_STATE_URL", "  ")
    settings = Settings.from_env()
    assert settings.state_url is None and state_url(None) is None
    state = open_state(settings.state_url, tmp_path / "c")
    assert isinstance(state, SqliteState)
    state.limiter("x", 0).reserve(), state.cache().put("s", "k", 200, {}, 60), state.health().failure("s")
    assert sorted(p.name for p in (tmp_path / "c").glob("*.sqlite")) == ["health.sqlite", "ratelimit.sqlite",
                                                                         "responses.sqlite"]


def test_unreachable_server_is_an_error_naming_it_never_a_local_fallback(tmp_path):
    from songnodes_assets.defs.resources import EnrichmentResource
    from songnodes_assets.lib.enrich.pg_state import StateUnavailable
    from songnodes_assets.lib.enrich.sources.base import SourceConfig

    resource = EnrichmentResource(cache_dir=str(tmp_path / "cache"), state_url=CLOSED_PORT_URL, user_agent="t/1",
                                  max_failure_rate=0.5, breaker_fail_max=5, breaker_reset_s=30, timeout_s=5,
                                  max_tries=1, backoff_s=0)
    config = SourceConfig("musicbrainz", "http://127.0.0.1:9/musicbrainz", True, 1.0, {}, [])
    with pytest.raises(StateUnavailable) as info:
        resource.client(config)
    assert "SONGNODES_STATE_URL" in str(info.value) and "127.0.0.1:9/songnodes_nothing_here" in str(info.value)
    assert isinstance(info.value, OSError)  # the enrichment runner's "local state failed" path
    assert not (tmp_path / "cache").exists()


def test_lost_connection_is_reopened_and_a_dead_server_fails_the_limiter_only(pg_url):
    _truncate(pg_url)
    warnings = []
    state = open_state(pg_url, "/nonexistent", log=warnings.append)
    from songnodes_assets.lib.enrich.pg_state import StateUnavailable

    limiter, cache, health = state.limiter("musicbrainz", 0.0), state.cache(), state.health()
    admin = admin_connection()

    def kill_session():
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                        "'songnodes_state' AND datname = %s", (pg_url.rsplit("/", 1)[1],))

    kill_session()
    limiter.acquire()  # reconnected once, transparently
    cache.put("musicbrainz", "k", 200, {"ok": 1}, 60)
    assert cache.get("musicbrainz", "k") == (200, {"ok": 1}) and warnings == []
    state.url = CLOSED_PORT_URL  # from now on the server is "gone"
    kill_session()
    admin.close()
    assert cache.get("musicbrainz", "k") is None  # the cache misses with one warning and carries on
    cache.put("musicbrainz", "k2", 200, {}, 60)
    health.failure("musicbrainz")
    assert len(warnings) == 2 and all("SONGNODES_STATE_URL" in w for w in warnings), warnings
    with pytest.raises(StateUnavailable, match="cannot be reached"):
        limiter.acquire()  # going on without the shared schedule would break the quota
    state.close()


# ---- two worker processes, one quota ---------------------------------------------------------------

def _worker(url, cache_dir, base, interval, n, tag, ready, go, out):
    from songnodes_assets.lib.enrich.api_client import ApiClient, RetryPolicy

    state = open_state(url, cache_dir)
    client = ApiClient("musicbrainz", base, limiter=state.limiter("musicbrainz", interval), cache=state.cache(),
                       health=state.health(), user_agent="SongNodesTest/1", policy=RetryPolicy(max_tries=1))
    ready.put(tag)
    go.wait(30)
    for i in range(n):
        res = client.get_json("/ws/2/recording", {"query": f'recording:"{tag} {i}"', "fmt": "json"},
                              ttl_for=lambda status, body: 3600.0)
        assert res.status == 200 and not res.from_cache
    state.close()
    out.put((tag, client.stats["calls"], round(client.limiter.waited_s, 3)))


def _collect(queue, procs, timeout=60.0) -> list:
    """One item per process, failing at once (not after the timeout) when a process died first."""
    import queue as q

    got, deadline = [], time.monotonic() + timeout
    while len(got) < len(procs) and time.monotonic() < deadline:
        try:
            got.append(queue.get(timeout=0.2))
        except q.Empty:
            assert all(p.is_alive() or p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    assert len(got) == len(procs), "workers did not answer in time"
    return got


def _two_workers(apis, url, tmp_path, interval, n):
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, tmp_path / f"host{k}", apis.base_url_for("musicbrainz"),
                                               interval, n, f"w{k}", ready, go, out)) for k in range(2)]
    for p in procs:
        p.start()
    try:
        assert sorted(_collect(ready, procs)) == ["w0", "w1"]
        go.set()  # both connected and built: start together
        stats = sorted(_collect(out, procs))
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    arrivals = sorted(apis.log["musicbrainz"])
    times = [t for t, _ in arrivals]
    gaps = [b - a for a, b in zip(times, times[1:])]
    rate = (len(times) - 1) / (times[-1] - times[0])
    switches = sum(1 for (_, a), (_, b) in zip(arrivals, arrivals[1:]) if ("w0" in a) != ("w0" in b))
    return stats, times, gaps, rate, switches


@pytest.fixture
def apis():
    from songnodes_assets.sample_site.fake_apis import FakeApis

    with FakeApis() as f:
        yield f


def test_two_worker_processes_on_postgresql_hold_the_quota_together(apis, pg_url, tmp_path, capsys):
    """Two processes with their own cache dirs ("hosts"), one PostgreSQL state: the fake API sees one
    request per interval, not two; both workers really interleave; the shared cache and health hold
    both workers' answers."""
    _truncate(pg_url)
    interval, n = 0.15, 20
    stats, times, gaps, rate, switches = _two_workers(apis, pg_url, tmp_path, interval, n)
    with capsys.disabled():
        print(f"\n[shared state] 2 workers x {n} requests, quota {1 / interval:.2f} req/s: combined "
              f"{rate:.2f} req/s, min gap {min(gaps) * 1000:.1f} ms (interval {interval * 1000:.0f} ms), "
              f"median gap {sorted(gaps)[len(gaps) // 2] * 1000:.1f} ms, worker switches {switches}, {stats}")
    assert len(times) == 2 * n and [s[1] for s in stats] == [n, n]
    assert switches >= n // 2  # they ran at the same time, taking turns: the limiter did the spacing
    # 25 ms: the fake server's own timestamping jitter on busy cores. One gap may be short: a sender descheduled
    # between its confirmed send (committed) and its socket write, or a starved server thread stamping late, is
    # what no limiter that records the send before making it can exclude; a limiter without the row lock gives
    # many (and a rate far over the quota, checked below)
    short = [g for g in gaps if g < interval - 0.025]
    assert len(short) <= 1, gaps
    assert 0.8 / interval <= rate <= 1.0 / interval
    with open_state(pg_url, tmp_path / "host2") as host2:
        assert host2.cache().count("musicbrainz") == 2 * n  # every answer shared; a third host would not ask
        assert host2.health().get("musicbrainz")["last_success_at"] >= times[0] - 60


def test_without_shared_state_two_hosts_double_the_rate(apis, tmp_path):
    """The control: each "host" on its own SQLite files sends at the full quota, so together twice it
    (what a second worker host did before SONGNODES_STATE_URL)."""
    interval, n = 0.15, 8
    _, times, gaps, rate, _ = _two_workers(apis, None, tmp_path, interval, n)
    assert len(times) == 2 * n and min(gaps) < interval / 2 and rate > 1.5 / interval, (rate, gaps)
