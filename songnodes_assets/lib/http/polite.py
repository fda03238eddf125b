"""One polite HTTP client for every crawl: allowed hosts only, robots.txt (allow/deny and
Crawl-delay, via protego), one request at a time per host with a minimum interval plus jitter,
timeouts, retries with exponential backoff and full jitter (tenacity), Retry-After honoured (capped),
redirects checked hop by hop against the allowed hosts.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from . import errors
from .body import BodyTooLarge, BodyTooSlow, read_body

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
KEPT_HEADERS = ("content-type", "content-length", "last-modified", "etag", "retry-after", "date", "server", "location")


@dataclass(frozen=True)
class Politeness:
    user_agent: str
    allowed_hosts: frozenset[str]
    min_interval_s: float = 4.0
    jitter_s: float = 1.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    max_tries: int = 3
    backoff_base_s: float = 2.0
    backoff_max_s: float = 60.0
    retry_after_cap_s: float = 120.0
    max_redirects: int = 5
    max_body_bytes: int = 20 * 1024 * 1024
    max_fetch_s: float = 120.0  # whole-body deadline: a server trickling bytes (slow loris) cannot hold us
    respect_robots: bool = True


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: dt.datetime
    attempts: int
    elapsed_s: float

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _Retriable(Exception):
    def __init__(self, status: int | None, retry_after: float | None, detail: str):
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now_ts = now if now is not None else time.time()
    return max(0.0, when.timestamp() - now_ts)


@dataclass
class _HostState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    robots_lock: threading.Lock = field(default_factory=threading.Lock)
    last_request: float | None = None
    robots: Protego | None = None
    crawl_delay: float | None = None


class PoliteClient:
    """Fetch pages politely. ``stats`` counts requests, statuses, retries, bytes and refusals."""

    def __init__(self, politeness: Politeness, session: requests.Session | None = None,
                 sleep=time.sleep, clock=time.monotonic, rng: random.Random | None = None, log=None):
        self.p = politeness
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = politeness.user_agent
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._hosts: dict[str, _HostState] = {}
        self._hosts_lock = threading.Lock()
        self._log = log
        self.stats: Counter[str] = Counter()
        self.robots_agent = politeness.user_agent.split("/")[0].split(" ")[0] or "*"

    # ---- public -------------------------------------------------------------------------------
    def get(self, url: str) -> FetchResult:
        """GET a URL: host allow-list, robots, pacing, retries, redirects. Raises FetchError subclasses."""
        self._check_host(url)
        self._check_robots(url)
        current = url
        started = self._clock()
        attempts_total = 0
        for _hop in range(self.p.max_redirects + 1):
            resp, body, attempts = self._fetch_with_retries(current)
            attempts_total += attempts
            if resp.is_redirect or resp.status_code in (301, 302, 303, 307, 308):
                location = resp.headers.get("location")
                if not location:
                    raise errors.HttpStatusError(current, f"redirect {resp.status_code} without Location", resp.status_code)
                nxt = urljoin(current, location)
                host = (urlsplit(nxt).hostname or "").lower()
                if host not in self.p.allowed_hosts or urlsplit(nxt).scheme not in ("http", "https"):
                    self.stats["refused_offsite_redirect"] += 1
                    raise errors.OffsiteRedirect(url, f"redirect to {nxt!r} leaves the allowed hosts", resp.status_code)
                self._check_robots(nxt)
                current = nxt
                continue
            headers = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
            if resp.status_code >= 400:
                raise errors.HttpStatusError(url, f"HTTP {resp.status_code}", resp.status_code, attempts_total)
            return FetchResult(url=url, final_url=current, status=resp.status_code, headers=headers, body=body,
                               fetched_at=dt.datetime.now(dt.timezone.utc), attempts=attempts_total,
                               elapsed_s=self._clock() - started)
        raise errors.TooManyRedirects(url, f"more than {self.p.max_redirects} redirects")

    def crawl_delay(self, url: str) -> float | None:
        return self._host_state(url).crawl_delay

    # ---- internals ----------------------------------------------------------------------------
    def _host_key(self, url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    def _host_state(self, url: str) -> _HostState:
        key = self._host_key(url)
        with self._hosts_lock:
            return self._hosts.setdefault(key, _HostState())

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise errors.HostNotAllowed(url, f"scheme {parts.scheme!r} is not http(s)")
        host = (parts.hostname or "").lower()
        if host not in self.p.allowed_hosts:
            self.stats["refused_host"] += 1
            raise errors.HostNotAllowed(url, f"host {host!r} is not in the allowed hosts {sorted(self.p.allowed_hosts)}")

    def _check_robots(self, url: str) -> None:
        if not self.p.respect_robots:
            return
        state = self._host_state(url)
        with state.robots_lock:  # one robots.txt fetch per host, even with concurrent callers
            if state.robots is None:
                robots = self._load_robots(url)
                delay = robots.crawl_delay(self.robots_agent)
                state.crawl_delay = float(delay) if delay is not None else None
                state.robots = robots
        if not state.robots.can_fetch(url, self.robots_agent):
            self.stats["refused_robots"] += 1
            raise errors.RobotsDisallowed(url, f"robots.txt disallows this URL for {self.robots_agent!r}")

    def _load_robots(self, url: str) -> Protego:
        robots_url = self._host_key(url) + "/robots.txt"
        try:
            resp, body, _ = self._fetch_with_retries(robots_url)
        except errors.FetchError as exc:
            self._note(f"robots.txt unreachable ({exc}); treating the host as disallowed")
            return Protego.parse("User-agent: *\nDisallow: /")
        if resp.status_code >= 500:
            self._note(f"robots.txt answered {resp.status_code}; treating the host as disallowed")
            return Protego.parse("User-agent: *\nDisallow: /")
        if resp.status_code >= 400 or resp.status_code in (301, 302, 303, 307, 308):
            return Protego.parse("")  # no robots.txt: everything allowed
        return Protego.parse(body.decode("utf-8", errors="replace"))

    def _interval(self, state: _HostState) -> float:
        return max(self.p.min_interval_s, state.crawl_delay or 0.0)

    def _pace(self, state: _HostState) -> None:
        if state.last_request is None:
            return
        wait = state.last_request + self._interval(state) + self._rng.uniform(0, self.p.jitter_s) - self._clock()
        if wait > 0:
            self.stats["pacing_sleeps"] += 1
            self._sleep(wait)

    def _once(self, url: str) -> tuple[requests.Response, bytes]:
        state = self._host_state(url)
        with state.lock:  # one request at a time per host
            self._pace(state)
            self.stats["requests"] += 1
            try:
                resp = self.session.get(url, timeout=(self.p.connect_timeout_s, self.p.read_timeout_s),
                                        allow_redirects=False, stream=True)
                body = self._read_body(url, resp)
            except errors.FetchError:
                raise
            except (requests.Timeout, requests.ConnectionError) as exc:
                self.stats["transport_errors"] += 1
                raise _Retriable(None, None, f"{type(exc).__name__}: {exc}") from exc
            except requests.RequestException as exc:
                raise errors.TransportError(url, f"{type(exc).__name__}: {exc}") from exc
            finally:
                state.last_request = self._clock()
        self.stats[f"status_{resp.status_code}"] += 1
        self.stats["bytes"] += len(body)
        if resp.status_code in RETRY_STATUSES:
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            raise _Retriable(resp.status_code, retry_after, f"HTTP {resp.status_code}")
        return resp, body

    def _read_body(self, url: str, resp: requests.Response) -> bytes:
        try:
            return read_body(resp, self.p.max_body_bytes, self.p.max_fetch_s, clock=self._clock)
        except BodyTooLarge as exc:
            raise errors.BodyTooLarge(url, str(exc), resp.status_code) from exc
        except BodyTooSlow as exc:
            raise _Retriable(None, None, f"{exc} (slow response)") from exc

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Retriable) and exc.retry_after is not None:
            wait = min(exc.retry_after, self.p.retry_after_cap_s)
        else:  # full jitter: uniform(0, min(cap, base * 2^n))
            ceiling = min(self.p.backoff_max_s, self.p.backoff_base_s * 2 ** (retry_state.attempt_number - 1))
            wait = self._rng.uniform(0, ceiling)
        self.stats["retries"] += 1
        if isinstance(exc, _Retriable) and exc.status == 429:
            self.stats["retries_429"] += 1
        self._note(f"retrying after {exc} in {wait:.2f}s (attempt {retry_state.attempt_number})")
        return wait

    def _fetch_with_retries(self, url: str) -> tuple[requests.Response, bytes, int]:
        attempts = 0
        retrying = Retrying(stop=stop_after_attempt(self.p.max_tries), wait=self._wait,
                            retry=retry_if_exception_type(_Retriable), sleep=self._sleep, reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    resp, body = self._once(url)
                    return resp, body, attempts
        except _Retriable as exc:
            if exc.status is None:
                raise errors.TransportError(url, f"{exc} after {attempts} attempts", None, attempts) from exc
            raise errors.HttpStatusError(url, f"HTTP {exc.status} after {attempts} attempts", exc.status, attempts) from exc
        raise AssertionError("unreachable")

    def _note(self, message: str) -> None:
        if self._log is not None:
            self._log(message)
