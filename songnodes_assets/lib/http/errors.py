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


class OffsiteRedirect(FetchError):
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
