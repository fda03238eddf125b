"""One resilient JSON client per enrichment source: shared rate limiter, timeouts, retries with
exponential backoff + full jitter honouring Retry-After (tenacity, capped by
``RetryPolicy.retry_after_cap_s``, huge/inf/NaN/negative values included), a circuit breaker that really
opens and half-opens (pybreaker), and the TTL response cache.

Secrets never leave it: cache keys are built without secret parameters; every decoded answer is redacted
(``lib.http.redact``: the configured secrets, secret query parameters and credential headers it sent,
``api_key=…``-style text) before it is cached or returned, and so are error and log messages.

Every request goes through the URL policy (``lib.http.url_policy``): the URL must be unambiguous and on
the client's own origin (the base URL's scheme, host and port; an absolute URL such as an OAuth token
endpoint is its own origin). Redirects are followed by hand, each hop through the limiter and counted,
at most ``RetryPolicy.max_redirects``; a redirect off the origin asked for is a ``RedirectRefused``
(never followed).

Guarantees: every request (token requests included, via an absolute URL) passes the limiter, retries and
breaker and is counted in ``stats["calls"]``; ``stats["retries"]`` counts requests actually re-sent;
``CircuitOpen`` means no request was sent (the failure that trips the breaker keeps its own class); JSON
answers deeper than ``RetryPolicy.max_json_depth`` or above the body cap are a ``BadResponse``, never a
``RecursionError``."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Callable
from urllib.parse import urlencode

import pybreaker
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ..http.body import BodyTooLarge, BodyTooSlow, read_body
from ..http.polite import bounded_wait, parse_retry_after
from ..http.redact import SECRET_PARAMS, Redactor
from ..http.url_policy import MAX_REDIRECTS, REDIRECT_STATUSES, Origin, UrlRefused, next_hop, parse_origin, send_checked
from .cache import ResponseCache
from .ratelimit import SharedRateLimiter

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
_SECRET_HEADER_RE = re.compile(r"(?i)(authorization|token|key|secret)")


MAX_JSON_DEPTH = 200
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)  # an unterminated one runs to the end
_NON_BRACKET_BYTES = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]


class JsonRefused(ValueError):
    """A JSON text refused before decoding: nested too deep or too big."""


def loads_bounded(content: bytes | str, max_depth: int = MAX_JSON_DEPTH, max_bytes: int | None = None):
    """``json.loads`` that refuses (``JsonRefused``) texts longer than ``max_bytes`` or nested deeper than
    ``max_depth`` arrays/objects. Depth is checked first by one linear scan of the brackets outside strings,
    so a hostile answer never reaches the recursive decoder; other bad JSON raises ``ValueError``."""
    if max_bytes is not None and len(content) > max_bytes:
        raise JsonRefused(f"JSON text larger than {max_bytes} bytes")
    text = content.decode(json.detect_encoding(content), "surrogatepass") if isinstance(content, (bytes, bytearray)) \
        else content
    if text.count("[") + text.count("{") > max_depth:  # fewer openings cannot nest deeper
        brackets = _JSON_STRING.sub("", text).encode("utf-8", "surrogatepass").translate(None, _NON_BRACKET_BYTES)
        if max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > max_depth:
            raise JsonRefused(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # belt and braces: never let the decoder's recursion escape
        raise JsonRefused(f"JSON nested too deep to decode (limit {max_depth})") from None


class ApiError(Exception):
    error_class = "api_error"
    is_retriable = True

    def __init__(self, message: str, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class AuthRejected(ApiError):
    """401/403 or an API-level "invalid key": the source is down for us until credentials are fixed."""

    error_class = "auth_rejected"


class RateLimited(ApiError):
    error_class = "rate_limited"


class ServerError(ApiError):
    error_class = "server_error"


class TransportFailure(ApiError):
    error_class = "transport"


class BadResponse(ApiError):
    error_class = "bad_response"


class BadRequest(ApiError):
    error_class = "bad_request"
    is_retriable = False


class CircuitOpen(ApiError):
    error_class = "circuit_open"


class RedirectRefused(ApiError):
    """A redirect off the origin asked for (or one too many): not followed, nothing sent to its target."""

    error_class = "redirect_refused"


class UrlNotAllowed(ApiError):
    """The URL itself is refused by the URL policy (ambiguous authority, not the client's own origin)."""

    error_class = "url_refused"


@dataclass
class ApiResult:
    status: int
    data: object
    from_cache: bool


@dataclass
class RetryPolicy:
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    max_tries: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    retry_after_cap_s: float = 60.0
    max_response_s: float = 60.0  # whole-response deadline against slow-loris servers
    max_body_bytes: int = 10 * 1024 * 1024
    max_json_depth: int = MAX_JSON_DEPTH  # deeper answers are refused (RecursionError otherwise)
    max_redirects: int = MAX_REDIRECTS  # same-origin hops followed per request


@dataclass
class BreakerLog:
    opened_at: list[str] = field(default_factory=list)
    closed_at: list[str] = field(default_factory=list)


class _BreakerListener(pybreaker.CircuitBreakerListener):
    def __init__(self, log: BreakerLog, note: Callable[[str], None], health=None):
        self.log = log
        self.note = note
        self.health = health

    def state_change(self, cb, old_state, new_state):
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        if new_state.name == pybreaker.STATE_OPEN:
            self.log.opened_at.append(now)
            if self.health is not None:
                self.health.breaker_opened(cb.name)
        elif new_state.name == pybreaker.STATE_CLOSED:
            self.log.closed_at.append(now)
            if self.health is not None:
                self.health.breaker_closed(cb.name)
        self.note(f"circuit breaker {cb.name}: {old_state.name if old_state else '-'} -> {new_state.name}")


class ApiClient:
    def __init__(self, source: str, base_url: str, *, limiter: SharedRateLimiter, cache: ResponseCache | None,
                 user_agent: str, policy: RetryPolicy | None = None, breaker_fail_max: int = 5,
                 breaker_reset_s: float = 30.0, secrets: tuple[str, ...] = (), session: requests.Session | None = None,
                 log: Callable[[str], None] | None = None, rng: random.Random | None = None, sleep=time.sleep,
                 health=None):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.cache = cache
        self.policy = policy or RetryPolicy()
        self._redactor = Redactor(secrets)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self._log = log or (lambda m: None)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.stats: Counter[str] = Counter()
        self.health = health
        self.breaker_log = BreakerLog()
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=breaker_fail_max, reset_timeout=breaker_reset_s, name=source,
            exclude=[lambda e: isinstance(e, (AuthRejected, BadRequest))],
            throw_new_error_on_trip=False,  # the call that trips it raises its own error: CircuitOpen = nothing sent
            listeners=[_BreakerListener(self.breaker_log, self._note, health)])
        self.last_success_at: str | None = None
        self.keys_used: list[str] = []  # cache keys of the current lookup (the runner resets it per track)

    # ---- public ---------------------------------------------------------------------------------
    def get_json(self, path: str, params: dict | None = None, headers: dict | Callable[[], dict] | None = None,
                 ttl_for: Callable[[int, object], float] = lambda status, data: 0, cache: bool = True,
                 method: str = "GET", data: dict | None = None) -> ApiResult:
        """Call ``base_url + path`` (or ``path`` itself when it is an absolute URL, e.g. an OAuth token
        endpoint on another host); cached answers cost no call. Raises ApiError subclasses.

        ``headers`` may be a function, called only when a real request is needed (e.g. to fetch an
        OAuth token lazily, so a fully cached run makes no token request either). Its own errors (a
        token request made through this client) pass through unchanged: they were counted already."""
        params = dict(params or {})
        self._redactor.learn(*(str(v) for k, v in params.items() if k.lower() in SECRET_PARAMS))
        key = self.cache_key(method, path, params)
        if cache and self.cache is not None and method == "GET":
            self.keys_used.append(key)
            hit = self.cache.get(self.source, key)
            if hit is not None:
                self.stats["cache_hits"] += 1
                return ApiResult(hit[0], self._redactor.data(hit[1]), True)  # entries cached before redaction too
        real_headers = headers() if callable(headers) else (headers or {})
        self._learn_headers(real_headers)
        try:
            status, body = self.breaker.call(self._fetch_with_retries, method, path, params, real_headers, data)
        except pybreaker.CircuitBreakerError as exc:
            self.stats["short_circuited"] += 1
            raise CircuitOpen(f"{self.source}: circuit breaker open after repeated failures") from exc
        except ApiError as exc:
            exc.args = tuple(self.redact(a) if isinstance(a, str) else a for a in exc.args)
            if self.health is not None:
                self.health.failure(self.source)
            raise
        body = self._redactor.data(body)  # an answer echoing our key is stored and returned without it
        self.last_success_at = dt.datetime.now(dt.timezone.utc).isoformat()
        if self.health is not None:
            self.health.success(self.source)
        if cache and self.cache is not None and method == "GET":
            self.cache.put(self.source, key, status, body, ttl_for(status, body))
        return ApiResult(status, body, False)

    def forget(self, keys: list[str]) -> None:
        """Drop cached answers (ones a lookup could not read), so the next run asks the API again."""
        if self.cache is not None:
            self.cache.delete(self.source, keys)

    def cache_key(self, method: str, path: str, params: dict) -> str:
        public = sorted((k, str(v)) for k, v in params.items() if k.lower() not in SECRET_PARAMS)
        return f"{method} {self._url(path)}?{urlencode(public)}"  # a fake's answers never pass for live ones

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._redactor.configured

    @secrets.setter
    def secrets(self, values) -> None:
        self._redactor.configure(values)

    def redact(self, text: str) -> str:
        """``text`` without any secret this client knows (configured or sent), nor ``api_key=…``-style values."""
        return self._redactor.text(text)

    def redact_value(self, value):
        """A row value (text, list of texts, JSON) redacted like ``redact``."""
        return self._redactor.value(value)

    @property
    def breaker_state(self) -> str:
        return str(self.breaker.current_state)

    # ---- internals ------------------------------------------------------------------------------
    def _note(self, message: str) -> None:
        self._log(self.redact(message))

    def _learn_headers(self, headers: dict) -> None:
        for name, value in (headers or {}).items():
            if isinstance(name, str) and isinstance(value, str) and _SECRET_HEADER_RE.search(name):
                parts = value.split(None, 1)  # "Bearer <token>", "Basic <b64>", "Discogs token=<t>"
                self._redactor.learn(value, *(parts[1:] if len(parts) == 2 else []),
                                     *(p.split("=", 1)[1] for p in parts if "=" in p.rstrip("=")))

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def _origin(self, url: str, path: str) -> Origin:
        """The origin a request may go to: the base URL's for a path, an absolute URL's own otherwise."""
        try:
            origin = parse_origin(url)
            if not path.startswith(("http://", "https://")):
                base = parse_origin(self.base_url or "")
                if origin != base:
                    raise UrlRefused(f"{path!r} leaves the base origin {base}")
        except UrlRefused as exc:
            self.stats["refused_url"] += 1
            raise UrlNotAllowed(self.redact(f"{self.source}: URL for {path[:200]!r} refused: {exc.reason}")) from None
        return origin

    def _wait(self, state: RetryCallState) -> float:
        """The pause before the next try. Pure: tenacity also calls it after the last try."""
        exc = state.outcome.exception() if state.outcome else None
        retry_after = bounded_wait(getattr(exc, "retry_after", None), self.policy.retry_after_cap_s)
        if retry_after is not None:
            return retry_after
        return self._rng.uniform(0, min(self.policy.backoff_max_s,
                                        self.policy.backoff_base_s * 2 ** (state.attempt_number - 1)))

    def _before_retry(self, state: RetryCallState) -> None:
        """Runs only when a request will really be sent again: count it, and on Retry-After make
        everyone sharing this source's limiter wait too."""
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        if getattr(exc, "retry_after", None) is not None:
            self.limiter.push_back(wait)
        self.stats["retries"] += 1
        self._note(f"{self.source}: {exc}; retry in {wait:.2f}s (attempt {state.attempt_number})")

    def _fetch_with_retries(self, method: str, path: str, params: dict, headers: dict, data: dict | None):
        attempts = 0

        def retriable(exc: BaseException) -> bool:
            return isinstance(exc, _Retry)

        try:
            for attempt in Retrying(stop=stop_after_attempt(self.policy.max_tries), wait=self._wait,
                                    before_sleep=self._before_retry, retry=retry_if_exception(retriable),
                                    sleep=self._sleep, reraise=True):
                with attempt:
                    attempts += 1
                    return self._once(method, path, params, headers, data)
        except _Retry as exc:
            raise exc.final(attempts) from None
        raise AssertionError("unreachable")

    def _read(self, resp: requests.Response, path: str) -> bytes:
        """Read the whole body under a total deadline and a size cap (slow-loris and huge answers)."""
        try:
            return read_body(resp, self.policy.max_body_bytes, self.policy.max_response_s)
        except BodyTooLarge as exc:
            raise _Retry(BadResponse, f"{self.source}: answer from {path}: {exc}", resp.status_code) from exc
        except BodyTooSlow as exc:
            self.stats["timeouts"] += 1
            raise _Retry(TransportFailure, f"{self.source}: answer from {path}: {exc}", None) from exc

    def _send(self, method: str, path: str, params: dict, headers: dict, data: dict | None):
        """One request and its same-origin redirects (each hop through the limiter, counted in ``calls``)."""
        url = self._url(path)
        own = self._origin(url, path)
        for hop in range(self.policy.max_redirects + 1):
            self.limiter.acquire()
            self.stats["calls"] += 1
            try:
                resp = send_checked(self.session, method, url, own, params=params, headers=headers, data=data,
                                    stream=True, timeout=(self.policy.connect_timeout_s, self.policy.read_timeout_s))
            except UrlRefused as exc:
                self.stats["refused_url"] += 1
                raise UrlNotAllowed(self.redact(f"{self.source}: request for {path[:200]!r} refused: {exc.reason}")) \
                    from None
            if resp.status_code not in REDIRECT_STATUSES:
                return resp
            location = resp.headers.get("Location")
            resp.close()
            try:
                url, _ = next_hop(resp.url or url, location, own=own)
            except UrlRefused as exc:
                self.stats["refused_redirects"] += 1
                raise RedirectRefused(self.redact(f"{self.source}: HTTP {resp.status_code} on {path}: {exc.reason}"),
                                      resp.status_code) from None
            if hop == self.policy.max_redirects:
                break
            self.stats["redirects"] += 1
            params = None  # the Location carries its own query
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method, data = "GET", None
        self.stats["refused_redirects"] += 1
        raise RedirectRefused(self.redact(f"{self.source}: more than {self.policy.max_redirects} redirects on {path}"),
                              resp.status_code)

    def _once(self, method: str, path: str, params: dict, headers: dict, data: dict | None):
        try:
            resp = self._send(method, path, params, headers, data)
            content = self._read(resp, path)
        except requests.Timeout as exc:
            self.stats["timeouts"] += 1
            raise _Retry(TransportFailure, f"{self.source}: timeout on {path}", None) from exc
        except requests.ConnectionError as exc:
            self.stats["connection_errors"] += 1
            raise _Retry(TransportFailure, f"{self.source}: connection error on {path}: {type(exc).__name__}", None) from exc
        except requests.RequestException as exc:  # e.g. a body cut off mid-stream
            self.stats["connection_errors"] += 1
            raise _Retry(TransportFailure, f"{self.source}: broken answer on {path}: {type(exc).__name__}", None) from exc
        status = resp.status_code
        self.stats[f"status_{status}"] += 1
        if status == 429:
            self.stats["http_429"] += 1
            raise _Retry(RateLimited, f"{self.source}: HTTP 429 on {path}", status,
                         bounded_wait(parse_retry_after(resp.headers.get("Retry-After")), self.policy.retry_after_cap_s))
        if status in RETRY_STATUSES:
            raise _Retry(ServerError, f"{self.source}: HTTP {status} on {path}", status,
                         bounded_wait(parse_retry_after(resp.headers.get("Retry-After")), self.policy.retry_after_cap_s))
        if status in (401, 403):
            raise AuthRejected(f"{self.source}: HTTP {status} on {path}: {self._snippet(content)}", status)
        if status >= 400 and status != 404:
            raise BadRequest(f"{self.source}: HTTP {status} on {path}: {self._snippet(content)}", status)
        try:
            body = loads_bounded(content, self.policy.max_json_depth, self.policy.max_body_bytes) \
                if content.strip() else None
        except JsonRefused as exc:  # a hostile shape: the same request would get it again, so no retry
            self.stats["refused_json"] += 1
            raise BadResponse(f"{self.source}: answer from {path} refused: {exc} (HTTP {status})", status) from None
        except ValueError:
            self.stats["invalid_json"] += 1
            raise _Retry(BadResponse, f"{self.source}: invalid JSON from {path} (HTTP {status})", status) from None
        return status, body

    def _snippet(self, content: bytes) -> str:
        """The start of an error answer, redacted before it is cut (a secret cut in half is still a leak)."""
        return self.redact(content[:64 * 1024].decode("utf-8", errors="replace"))[:200]


class _Retry(Exception):
    """Internal: a retriable failure; turned into its public ApiError when tries run out."""

    def __init__(self, kind: type[ApiError], message: str, status: int | None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    def final(self, attempts: int) -> ApiError:
        return self.kind(f"{self} (after {attempts} attempt{'s' if attempts != 1 else ''})", self.status, attempts)
