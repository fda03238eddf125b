"""A playlist's identity is the source's canonical page identity, not the URL string it was fetched under:
the same mix under another host, port, base URL, ``_``/space spelling, percent-encoding, ``?action=raw``
or rendered HTML is one playlist."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

_SPACES_RE = re.compile(r"[\s_]+")
# "#REDIRECT [[Target]]" (MediaWiki accepts any case and an optional colon)
_REDIRECT_RE = re.compile(r"^\s*#\s*REDIRECT\s*:?\s*\[\[\s*([^\]|#]+)", re.IGNORECASE)
_1001_ID_RE = re.compile(r"/tracklist/([0-9a-z]+)(?:/|$)", re.IGNORECASE)


def canonical_wiki_title(title: str) -> str:
    """MediaWiki's own title normalisation: percent-decoding, ``_`` and runs of whitespace as one space,
    trimmed, NFC, first letter upper-cased ($wgCapitalLinks, MixesDB's setting)."""
    text = unquote(title) if "%" in title else title
    text = unicodedata.normalize("NFC", _SPACES_RE.sub(" ", text).strip())
    return text[:1].upper() + text[1:]


def redirect_target(wikitext: str) -> str | None:
    """The target title of a MediaWiki redirect page, or None for a real page."""
    match = _REDIRECT_RE.match(wikitext[:1000])
    return canonical_wiki_title(match.group(1)) if match else None


def canonical_1001_key(url: str) -> str:
    """1001tracklists: the tracklist id in ``/tracklist/<id>/<slug>.html`` (the slug may change), else the
    lower-cased path without host, port, query or trailing slash."""
    path = urlsplit(url).path
    match = _1001_ID_RE.search(path)
    return match.group(1).lower() if match else unquote(path).rstrip("/").lower()


def page_key(source: str, title: str | None, url: str) -> str:
    """The text a playlist id hashes: canonical title for MediaWiki sources, canonical path otherwise."""
    if source == "1001tracklists":
        return canonical_1001_key(url)
    return canonical_wiki_title(title or "")
