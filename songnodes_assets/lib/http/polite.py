"""One polite HTTP client for every crawl: allowed origins only, robots.txt (allow/deny and
Crawl-delay, via protego), one request at a time per origin with a minimum interval plus jitter,
timeouts, retries with exponential backoff and full jitter (tenacity), Retry-After honoured (capped),
redirects followed by hand and checked hop by hop.

Every URL goes through ``url_policy``: it is refused before any request when its authority is ambiguous
(backslash, userinfo, whitespace, control characters, a non-canonical host) and it must be on an allowed
origin (scheme, host and port; a bare host entry means its scheme's default port). A URL the caller asks
for directly (built by our code from configuration) may also use another port of a listed bare host when
``Politeness.trust_requested_ports`` is on (off by default: Settings lists a configured URL's host with
its port when it names one); a redirect never may: each hop must be on an allowed origin or on the origin the
caller asked for, never from https down to http, at most ``max_redirects`` hops. robots.txt is only
ever read from the origin that passed these checks.

Remote numbers are bounded: Crawl-delay is capped at ``Politeness.crawl_delay_cap_s``
(``CRAWL_DELAY_CAP_S`` = 60 s by default; infinite, NaN and negative values are ignored by protego, huge
ones are capped) and Retry-After at ``retry_after_cap_s`` (huge, infinite, NaN or negative values never
crash: see ``bounded_wait``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from protego import Protego
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from . import errors
from .body import BodyTooLarge, BodyTooSlow, read_body
from .url_policy import REDIRECT_STATUSES, AllowList, Origin, UrlRefused, next_hop, parse_origin, send_checked

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
KEPT_HEADERS = ("content-type", "content-length", "last-modified", "etag", "retry-after", "date", "server", "location")
MAX_REMOTE_WAIT_S = 24 * 3600.0  # no remote-requested wait is ever longer, whatever cap is configured
CRAWL_DELAY_CAP_S = 60.0  # a robots.txt Crawl-delay above this is read as this (1e9 would mean ~31 years)
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


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
    crawl_delay_cap_s: float = CRAWL_DELAY_CAP_S  # longest Crawl-delay honoured (seconds)
    trust_requested_ports: bool = False  # a URL asked for directly may use any port of a listed bare host


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
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid.
    Never raises; the value may be huge (even ``inf``): callers bound it with ``bounded_wait``."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if _ASCII_DIGITS.match(value):  # str.isdigit() also accepts "²", which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        now_ts = now if now is not None else time.time()
        return max(0.0, when.timestamp() - now_ts)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def bounded_wait(seconds: float | None, cap_s: float) -> float | None:
    """A wait the remote side asked for (Retry-After), bounded to [0, cap_s]: None stays None, NaN and +inf
    become the cap, negative values 0. A NaN or negative cap counts as 0, and no cap exceeds
    ``MAX_REMOTE_WAIT_S`` (so ``time.sleep`` never overflows)."""
    if seconds is None:
        return None
    try:
        cap = float(cap_s)
    except (TypeError, ValueError):
        cap = 0.0
    cap = 0.0 if math.isnan(cap) or cap < 0 else min(cap, MAX_REMOTE_WAIT_S)
    try:
        value = float(seconds)
    except (TypeError, ValueError, OverflowError):
        value = cap
    if math.isnan(value):
        value = cap
    return max(0.0, min(value, cap))


def bounded_crawl_delay(delay, cap_s: float = CRAWL_DELAY_CAP_S) -> float | None:
    """A robots.txt Crawl-delay as seconds in [0, cap_s]; None when absent, NaN or negative."""
    if delay is None:
        return None
    try:
        value = float(delay)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(value) or value < 0:
        return None
    return min(value, cap_s)


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
        self._allowed = AllowList(politeness.allowed_hosts)  # ValueError naming a malformed entry
        self.stats: Counter[str] = Counter()
        self.robots_agent = politeness.user_agent.split("/")[0].split(" ")[0] or "*"

    # ---- public -------------------------------------------------------------------------------
    def get(self, url: str) -> FetchResult:
        """GET a URL: URL policy and allowed origins, robots, pacing, retries, redirects (each hop checked).
        Raises FetchError subclasses; a refused redirect is an ``OffsiteRedirect`` naming its target."""
        origin = self._check_url(url)
        self._check_robots(url, origin)
        current, current_origin = url, origin
        started = self._clock()
        attempts_total = 0
        for _hop in range(self.p.max_redirects + 1):
            resp, body, attempts = self._fetch_with_retries(current, current_origin)
            attempts_total += attempts
            if resp.status_code in REDIRECT_STATUSES:
                location = resp.headers.get("location")
                if not location:
                    raise errors.HttpStatusError(current, f"redirect {resp.status_code} without Location", resp.status_code)
                try:  # the origin asked for stays allowed; any other hop must be on the allow-list
                    nxt, nxt_origin = next_hop(current, location, allowed=self._allowed, own=origin)
                except UrlRefused as exc:
                    self.stats["refused_offsite_redirect"] += 1
                    self._note(f"{url}: {exc.reason}")
                    raise errors.OffsiteRedirect(url, exc.reason, resp.status_code, attempts_total) from None
                self.stats["redirects"] += 1
                self._check_robots(nxt, nxt_origin)
                current, current_origin = nxt, nxt_origin
                continue
            headers = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
            if resp.status_code >= 400:
                raise errors.HttpStatusError(url, f"HTTP {resp.status_code}", resp.status_code, attempts_total)
            return FetchResult(url=url, final_url=current, status=resp.status_code, headers=headers, body=body,
                               fetched_at=dt.datetime.now(dt.timezone.utc), attempts=attempts_total,
                               elapsed_s=self._clock() - started)
        raise errors.TooManyRedirects(url, f"more than {self.p.max_redirects} redirects")

    def crawl_delay(self, url: str) -> float | None:
        """The (capped) Crawl-delay robots.txt gave for the URL's origin; None if none or not read yet."""
        try:
            return self._host_state(parse_origin(url)).crawl_delay
        except UrlRefused:
            return None

    # ---- internals ----------------------------------------------------------------------------
    def _host_state(self, origin: Origin) -> _HostState:
        with self._hosts_lock:
            return self._hosts.setdefault(str(origin), _HostState())

    def _check_url(self, url: str) -> Origin:
        try:
            origin = parse_origin(url)
        except UrlRefused as exc:
            if exc.kind == "unsafe_url":
                self.stats["refused_unsafe_url"] += 1
                raise errors.UnsafeUrl(url, exc.reason) from None
            self.stats["refused_host"] += 1
            raise errors.HostNotAllowed(url, exc.reason) from None
        if self._allowed.allows(origin):
            return origin
        if self.p.trust_requested_ports and self._allowed.lists_host(origin.host):
            return origin  # our own configured URL (e.g. the base URL on a test port); redirects stay strict
        self.stats["refused_host"] += 1
        raise errors.HostNotAllowed(url, f"{origin} is not in the allowed hosts [{self._allowed}]")

    def _check_robots(self, url: str, origin: Origin) -> None:
        if not self.p.respect_robots:
            return
        state = self._host_state(origin)
        with state.robots_lock:  # one robots.txt fetch per origin, even with concurrent callers
            if state.robots is None:
                robots = self._load_robots(origin)
                raw_delay = robots.crawl_delay(self.robots_agent)
                state.crawl_delay = bounded_crawl_delay(raw_delay, self.p.crawl_delay_cap_s)
                if raw_delay is not None and state.crawl_delay != raw_delay:
                    self._note(f"{origin}: robots.txt Crawl-delay {raw_delay!r} capped to {state.crawl_delay}s")
                state.robots = robots
        if not state.robots.can_fetch(url, self.robots_agent):
            self.stats["refused_robots"] += 1
            why = getattr(state.robots, "songnodes_unreachable", None)
            raise errors.RobotsDisallowed(url, f"robots.txt of {origin} {why}, so the site counts as disallowed "
                                          "(RFC 9309); nothing was fetched" if why else
                                          f"robots.txt disallows this URL for {self.robots_agent!r}")

    def _load_robots(self, origin: Origin) -> Protego:
        robots_url = f"{origin}/robots.txt"  # only ever the origin that passed the URL policy
        try:
            resp, body, _ = self._fetch_with_retries(robots_url, origin)
        except errors.FetchError as exc:
            self._note(f"robots.txt unreachable ({exc}); treating the host as disallowed")
            return _disallow_all(f"could not be read ({type(exc).__name__}: {getattr(exc, 'kind', '') or 'error'})")
        if resp.status_code >= 500:
            self._note(f"robots.txt answered {resp.status_code}; treating the host as disallowed")
            return _disallow_all(f"answered HTTP {resp.status_code}")
        if resp.status_code >= 400 or resp.status_code in REDIRECT_STATUSES:  # never followed
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

    def _once(self, url: str, origin: Origin) -> tuple[requests.Response, bytes]:
        state = self._host_state(origin)
        with state.lock:  # one request at a time per origin
            self._pace(state)
            self.stats["requests"] += 1
            try:
                resp = send_checked(self.session, "GET", url, origin, stream=True,
                                    timeout=(self.p.connect_timeout_s, self.p.read_timeout_s))
                body = self._read_body(url, resp)
            except UrlRefused as exc:
                self.stats["refused_unsafe_url"] += 1
                raise errors.UnsafeUrl(url, exc.reason) from None
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
            retry_after = parse_retry_after(resp.headers.get("retry-after"))  # bounded in _wait
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
            wait = bounded_wait(exc.retry_after, self.p.retry_after_cap_s)
        else:  # full jitter: uniform(0, min(cap, base * 2^n))
            ceiling = min(self.p.backoff_max_s, self.p.backoff_base_s * 2 ** (retry_state.attempt_number - 1))
            wait = self._rng.uniform(0, ceiling)
        self.stats["retries"] += 1
        if isinstance(exc, _Retriable) and exc.status == 429:
            self.stats["retries_429"] += 1
        self._note(f"retrying after {exc} in {wait:.2f}s (attempt {retry_state.attempt_number})")
        return wait

    def _fetch_with_retries(self, url: str, origin: Origin) -> tuple[requests.Response, bytes, int]:
        attempts = 0
        retrying = Retrying(stop=stop_after_attempt(self.p.max_tries), wait=self._wait,
                            retry=retry_if_exception_type(_Retriable), sleep=self._sleep, reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    resp, body = self._once(url, origin)
                    return resp, body, attempts
        except _Retriable as exc:
            if exc.status is None:
                raise errors.TransportError(url, f"{exc} after {attempts} attempts", None, attempts) from exc
            raise errors.HttpStatusError(url, f"HTTP {exc.status} after {attempts} attempts", exc.status, attempts) from exc
        raise AssertionError("unreachable")

    def _note(self, message: str) -> None:
        if self._log is not None:
            self._log(message)


def _disallow_all(why: str) -> Protego:
    """RFC 9309: a robots.txt that cannot be read (network error, 5xx) means complete disallow; the reason is
    kept so the error says why nothing was fetched instead of blaming the site's rules."""
    robots = Protego.parse("User-agent: *\nDisallow: /")
    robots.songnodes_unreachable = why
    return robots
