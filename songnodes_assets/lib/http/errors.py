"""Fetch errors. Each names the URL and a short machine-readable ``kind`` stored in bronze."""

from __future__ import annotations


class FetchError(Exception):
    kind = "fetch_error"

    def __init__(self, url: str, message: str, status: int | None = None, attempts: int = 1):
        super().__init__(f"{url}: {message}")
        self.url = url
        self.status = status
        self.attempts = attempts


class HostNotAllowed(FetchError):
    kind = "host_not_allowed"


class UnsafeUrl(HostNotAllowed):
    """A URL refused by the URL policy before any request: backslash, userinfo, control characters or
    whitespace in the authority, a non-canonical host, or parsers that disagree on where it connects."""

    kind = "unsafe_url"


class OffsiteRedirect(FetchError):
    """A redirect refused: its target is unsafe, off the allowed origins, or an https -> http downgrade."""

    kind = "offsite_redirect"


class TooManyRedirects(FetchError):
    kind = "too_many_redirects"


class RobotsDisallowed(FetchError):
    kind = "robots_disallowed"


class HttpStatusError(FetchError):
    kind = "http_status"


class TransportError(FetchError):
    kind = "transport"


class BodyTooLarge(FetchError):
    kind = "body_too_large"


class BlockedPage(FetchError):
    """A captcha / anti-bot / challenge page served in place of the content (never an empty tracklist)."""

    kind = "anti_bot"


class EmptyPage(FetchError):
    kind = "empty_page"
