"""The one URL policy every outbound request goes through (crawler, API clients, alert webhook).

A URL is accepted only when it is unambiguous: every parser that could be involved sees the same
scheme, host and port. ``parse_origin`` refuses (``UrlRefused``) any URL that is not absolute http(s),
whose authority (the text between ``scheme://`` and the first ``/``, ``?`` or ``#``) holds a backslash,
userinfo (``@``), whitespace, a control character or non-ASCII text, whose host is not canonical
(a lower-case LDH name without trailing dot, a dotted-quad IPv4 address without leading zeros, or a
compressed bracketed IPv6 address; ``127.1``, ``0x7f.1``, ``%31…`` and ``localhost.`` are refused), whose
port is not a plain number 1–65535, or on which ``urllib3.util.parse_url`` (what requests connects to)
and ``urllib.parse.urlsplit`` (what allow-list checks used to read) disagree. Control characters are
refused anywhere in the URL.

``AllowList`` compares scheme, host and port. Entries: ``host`` (the scheme's default port only: 80 for
http, 443 for https), ``host:port`` (that port, http or https), ``scheme://host[:port]`` (exactly that
origin). ``send_checked`` sends one request with ``allow_redirects=False`` after checking that the URL
requests actually prepared still has the checked origin; ``next_hop`` resolves and checks a redirect.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC_LABEL_RE = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_PORT_RE = re.compile(r"^[1-9][0-9]{0,4}$")


class UrlRefused(ValueError):
    """A URL the policy will not request. ``reason`` never repeats userinfo or the path (they may hold secrets)."""

    def __init__(self, reason: str, kind: str = "unsafe_url"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # unsafe_url | host_not_allowed | redirect_refused


@dataclass(frozen=True, order=True)
class Origin:
    scheme: str
    host: str  # lower case; IPv6 without brackets
    port: int

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def _canonical_host(host: str) -> str:
    """The host in canonical form, or UrlRefused. Upper-case letters are folded (DNS ignores case)."""
    if not host:
        raise UrlRefused("empty host")
    if not host.isascii():
        raise UrlRefused("non-ASCII host (IDN hosts must be given in punycode)")
    host = host.lower()
    if host.startswith("["):
        if not host.endswith("]"):
            raise UrlRefused("unterminated IPv6 host")
        inner = host[1:-1]
        try:
            addr = ipaddress.IPv6Address(inner)
        except ValueError:
            raise UrlRefused(f"invalid IPv6 host {host!r}") from None
        if "%" in inner or str(addr) != inner:
            raise UrlRefused(f"non-canonical IPv6 host {host!r} (canonical: [{addr}])")
        return inner
    labels = host.split(".")
    if _NUMERIC_LABEL_RE.match(labels[-1]):  # WHATWG and many resolvers read this as an IPv4 address
        try:
            addr = ipaddress.IPv4Address(host)
        except ValueError:
            raise UrlRefused(f"non-canonical IPv4 host {host!r}") from None
        if str(addr) != host:
            raise UrlRefused(f"non-canonical IPv4 host {host!r}")
        return host
    if len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise UrlRefused(f"non-canonical host {host!r}")
    return host


def _split_authority(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise UrlRefused("unterminated IPv6 host")
        host, rest = authority[:end + 1], authority[end + 1:]
        if rest and not rest.startswith(":"):
            raise UrlRefused("text after the IPv6 host")
        port_text = rest[1:] if rest else None
    else:
        if authority.count(":") > 1:
            raise UrlRefused("more than one ':' in the authority")
        host, sep, port_text = authority.partition(":")
        port_text = port_text if sep else None
    if port_text is None:
        return host, None
    if not _PORT_RE.match(port_text) or int(port_text) > 65535:
        raise UrlRefused(f"invalid port {port_text[:12]!r}")
    return host, int(port_text)


def parse_origin(url: str) -> Origin:
    """The (scheme, host, port) ``url`` connects to, or ``UrlRefused`` when it is unsafe or ambiguous."""
    if not isinstance(url, str):
        raise UrlRefused("URL is not a string")
    if _CONTROL_RE.search(url):
        raise UrlRefused("control character in URL")
    m = _SCHEME_RE.match(url)
    scheme = m.group(1).lower() if m else ""
    if scheme not in DEFAULT_PORTS:
        raise UrlRefused(f"scheme {scheme!r} is not http(s)" if scheme else "not an absolute http(s) URL",
                         "host_not_allowed")
    rest = url[m.end():]
    if not rest.startswith("//"):
        raise UrlRefused("no '//' after the scheme")
    rest = rest[2:]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "\\" in authority:
        raise UrlRefused("backslash in the authority")
    if "@" in authority:
        raise UrlRefused("userinfo ('@') in the authority")
    if any(c.isspace() for c in authority) or not authority.isascii():
        raise UrlRefused("whitespace or non-ASCII text in the authority")
    host_text, port = _split_authority(authority)
    host = _canonical_host(host_text)
    origin = Origin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])
    # The libraries must agree with us: urllib3 is what requests connects with.
    try:
        u3 = parse_url(url)
        sp = urlsplit(url)
        sp_host, sp_port = sp.hostname, sp.port
    except ValueError as exc:
        raise UrlRefused(f"unparsable URL ({type(exc).__name__})") from None
    u3_host = (u3.host or "").lower().strip("[]")
    if (u3.scheme or "").lower() != scheme or u3.auth is not None or u3_host != host \
            or (u3.port if u3.port is not None else DEFAULT_PORTS[scheme]) != origin.port:
        raise UrlRefused("the HTTP library would connect elsewhere than the URL names")
    if (sp_host or "") != host or (sp_port if sp_port is not None else DEFAULT_PORTS[scheme]) != origin.port:
        raise UrlRefused("URL parsers disagree on the host")
    return origin


class AllowList:
    """Origins a client may contact. See the module docstring for the entry forms."""

    def __init__(self, entries: Iterable[str]):
        self.entries = tuple(sorted({e.strip() for e in entries if e and e.strip()}))
        self._exact: set[Origin] = set()
        self._host_port: set[tuple[str, int]] = set()
        self._hosts: set[str] = set()  # bare entries
        for entry in self.entries:
            self._add(entry)

    def _add(self, entry: str) -> None:
        try:
            if "://" in entry:
                origin = parse_origin(entry)
                if urlsplit(entry).path not in ("", "/") or urlsplit(entry).query:
                    raise UrlRefused("an origin entry has no path or query")
                self._exact.add(origin)
                return
            host_text, port = _split_authority(entry)
            if "@" in entry or "\\" in entry or any(c.isspace() for c in entry):
                raise UrlRefused("userinfo, backslash or whitespace")
            host = _canonical_host(host_text)
        except UrlRefused as exc:
            raise ValueError(f"allowed host entry {entry!r} is invalid: {exc.reason}") from None
        if port is None:
            self._hosts.add(host)
        else:
            self._host_port.add((host, port))

    def allows(self, origin: Origin) -> bool:
        if origin in self._exact or (origin.host, origin.port) in self._host_port:
            return True
        return origin.host in self._hosts and origin.port == DEFAULT_PORTS[origin.scheme]

    def lists_host(self, host: str) -> bool:
        """The host appears in some entry (whatever the port)."""
        return host in self._hosts or any(h == host for h, _ in self._host_port) or any(
            o.host == host for o in self._exact)

    def __str__(self) -> str:
        return ", ".join(self.entries) or "(none)"


def check_url(url: str, allowed: AllowList | None = None, *, own: Origin | None = None) -> Origin:
    """``parse_origin(url)``, then: with ``own``, the origin must be exactly ``own``; with ``allowed``, it
    must be listed (when both are given, either suffices)."""
    origin = parse_origin(url)
    if own is not None and origin == own:
        return origin
    if allowed is not None and allowed.allows(origin):
        return origin
    if own is not None and allowed is None:
        raise UrlRefused(f"{origin} is not this client's own origin {own}", "host_not_allowed")
    raise UrlRefused(f"{origin} is not in the allowed hosts [{allowed}]", "host_not_allowed")


def next_hop(current: str, location: str | None, *, allowed: AllowList | None = None,
             own: Origin | None = None) -> tuple[str, Origin]:
    """The checked URL a redirect from ``current`` points to, or ``UrlRefused`` (kind ``redirect_refused``)
    naming the target. Never from https down to http."""
    if not location:
        raise UrlRefused("redirect without a Location header", "redirect_refused")
    if _CONTROL_RE.search(location):  # urljoin would silently drop tabs and newlines: refuse them instead
        raise UrlRefused(f"redirect to {_shown(location)!r} refused: control character in the Location",
                         "redirect_refused")
    target = urljoin(current, location.strip(" "))
    try:
        origin = check_url(target, allowed, own=own)
    except UrlRefused as exc:
        raise UrlRefused(f"redirect to {_shown(target)!r} refused: {exc.reason}", "redirect_refused") from None
    if current.lower().startswith("https:") and origin.scheme == "http":
        raise UrlRefused(f"redirect to {_shown(target)!r} refused: https -> http downgrade", "redirect_refused")
    return target, origin


def _shown(url: str) -> str:
    """A URL as it may appear in an error message: control characters escaped, at most 300 characters."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", url)[:300]


def send_checked(session: requests.Session, method: str, url: str, origin: Origin, *, params=None,
                 headers=None, data=None, json=None, timeout=None, stream: bool = False) -> requests.Response:
    """Send one request without following redirects, after checking that the URL requests prepared (query
    string and IDNA handling included) still connects to ``origin``."""
    prepared = session.prepare_request(requests.Request(method, url, params=params, headers=headers, data=data,
                                                        json=json))
    try:
        prepared_origin = parse_origin(prepared.url)
    except UrlRefused as exc:
        raise UrlRefused(f"prepared URL refused: {exc.reason}") from None
    if prepared_origin != origin:
        raise UrlRefused(f"prepared URL connects to {prepared_origin}, not {origin}")
    env = session.merge_environment_settings(prepared.url, {}, stream, None, None)
    return session.send(prepared, timeout=timeout, allow_redirects=False, **env)
