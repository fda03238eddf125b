"""MixesDB crawling: discover mix pages from start URLs and fetch their raw wikitext.

Start URLs may be category pages (``/w/Category:Techno``), ``/w/Special:RecentChanges`` or mix
pages. Discovery goes through the MediaWiki API (``list=categorymembers`` / ``list=recentchanges``,
JSON, with continuation; MediaWiki reports API errors as HTTP 200 with an ``error`` object; an answer that
is not JSON, or nested deeper than ``MAX_JSON_DEPTH``, is a ``DiscoveryError`` naming the URL). Mix pages
are fetched as ``/w/<Title>?action=raw``: the wikitext is the editors' own source, so there are no
rendered-HTML selectors to break, and it carries the categories (DJ, year, style, tracklist status).

Continuation is bounded: at most ``MAX_CONTINUATION_PAGES`` (20) further API pages and
``MAX_LISTING_S`` (300 s) per listing, and a ``continue`` value that does not change ends it; stopping
early is logged ("discovery: … stopped early …") and the titles found so far are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import quote, urlencode

from .enrich.api_client import MAX_JSON_DEPTH, JsonRefused, loads_bounded
from .http import errors
from .http.page_checks import block_reason
from .http.polite import PoliteClient
from .parsing.mixesdb_page import title_from_url

FETCHER_VERSION = "mixesdb-raw/1"
_NON_MIX_PREFIXES = ("Category:", "Special:", "File:", "Template:", "Help:", "User:", "Talk:", "MixesDB:")
MAX_CONTINUATION_PAGES = 20  # API pages after the first, per listing (a server may answer "continue" forever)
MAX_LISTING_S = 300.0  # wall-clock budget per listing


class DiscoveryError(errors.FetchError):
    kind = "discovery"


@dataclass(frozen=True)
class PageRef:
    title: str
    url: str  # the URL actually fetched (…?action=raw for MixesDB)
    source: str = "mixesdb"
    expect_html: bool = False  # MixesDB raw wikitext is text; 1001tracklists pages are HTML


def page_url(base_url: str, title: str) -> str:
    return f"{base_url.rstrip('/')}/w/{quote(title.replace(' ', '_'), safe='@,()!:')}"


def raw_url(base_url: str, title: str) -> str:
    return page_url(base_url, title) + "?action=raw"


def tracklists1001_refs(urls: list[str]) -> list[PageRef]:
    """1001tracklists tracklist pages are fetched from explicit URLs only (no crawling of that site)."""
    return [PageRef(title=u.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html"), url=u, source="1001tracklists",
                    expect_html=True) for u in urls]


def discover(client: PoliteClient, base_url: str, start_urls: list[str], limit: int,
             log: Callable[[str], None] = lambda m: None) -> list[PageRef]:
    """Mix pages reachable from the start URLs, de-duplicated, at most ``limit``."""
    seen: dict[str, PageRef] = {}
    for start in start_urls:
        if len(seen) >= limit:
            break
        title = title_from_url(start)
        if title.startswith("Category:"):
            titles = _api_list(client, base_url, "categorymembers",
                               {"cmtitle": title.replace(" ", "_"), "cmnamespace": "0", "cmlimit": "500"}, limit - len(seen),
                               log=log)
        elif title.replace(" ", "") in ("Special:RecentChanges", "Special:NewPages"):
            titles = _api_list(client, base_url, "recentchanges",
                               {"rcnamespace": "0", "rctype": "new|edit", "rclimit": "500"}, limit - len(seen),
                               log=log)
        else:
            titles = [title]
        log(f"discovery: {start} -> {len(titles)} page(s)")
        for t in titles:
            if t.startswith(_NON_MIX_PREFIXES) or t in seen:
                continue
            seen[t] = PageRef(t, raw_url(base_url, t))
            if len(seen) >= limit:
                break
    return list(seen.values())


def _api_list(client: PoliteClient, base_url: str, list_name: str, params: dict[str, str], limit: int,
              log: Callable[[str], None] = lambda m: None, max_pages: int = MAX_CONTINUATION_PAGES,
              max_seconds: float = MAX_LISTING_S, clock: Callable[[], float] = time.monotonic) -> list[str]:
    titles: list[str] = []
    cont: dict[str, str] = {}
    started = clock()
    for page in range(max_pages + 1):  # the first page and at most max_pages continuations
        query = {"action": "query", "list": list_name, "format": "json", **params, **cont}
        url = f"{base_url.rstrip('/')}/w/api.php?{urlencode(query)}"
        result = client.get(url)
        try:
            data = loads_bounded(result.body, MAX_JSON_DEPTH)
        except JsonRefused as exc:
            raise DiscoveryError(url, f"API answer refused: {exc}") from None
        except ValueError as exc:
            raise DiscoveryError(url, f"API answer is not JSON: {exc}") from exc
        if not isinstance(data, dict) or "error" in data:
            raise DiscoveryError(url, f"API error: {data.get('error') if isinstance(data, dict) else data!r}")
        items = (data.get("query") or {}).get(list_name) or []
        for item in items:
            t = item.get("title") if isinstance(item, dict) else None
            if isinstance(t, str) and t not in titles:
                titles.append(t)
        if len(titles) >= limit or not isinstance(data.get("continue"), dict):
            break
        nxt = {str(k): str(v) for k, v in data["continue"].items()}
        stop = None
        if nxt == cont:
            stop = "the API answered the same continuation again"
        elif page == max_pages:
            stop = f"{max_pages} continuation pages read (MAX_CONTINUATION_PAGES)"
        elif clock() - started > max_seconds:
            stop = f"{max_seconds:g} s spent on this listing (MAX_LISTING_S)"
        if stop:
            log(f"discovery: {list_name} listing stopped early after {page + 1} API page(s): {stop}; "
                f"keeping {min(len(titles), limit)} title(s)")
            break
        cont = nxt
    return titles[:limit]


def fetch_rows(client: PoliteClient, refs: list[PageRef], *, scrape_date: str, run_id: str,
               already_fetched: dict[str, tuple[dt.datetime, str]], max_age: dt.timedelta,
               log: Callable[[str], None] = lambda m: None) -> Iterator[dict]:
    """Fetch each page not fetched successfully within ``max_age``; yield one bronze row per fetch,
    errors included (a captcha, an empty page or a 503 after retries is a row with ``error_kind``)."""
    now = dt.datetime.now(dt.timezone.utc)
    for i, ref in enumerate(refs, start=1):
        last = already_fetched.get(ref.url, (None, None))[0]
        if last is not None and now - last < max_age:
            log(f"[{i}/{len(refs)}] skip {ref.title!r}: fetched {last.isoformat()} (< max age)")
            continue
        row = {"scrape_date": scrape_date, "source": ref.source, "record_kind": "page", "url": ref.url,
               "final_url": None, "page_title": ref.title, "status": None, "content_type": None,
               "headers_json": None, "fetched_at": now, "sha256": None, "body": None, "body_bytes": None,
               "error_kind": None, "error": None, "attempts": None, "elapsed_ms": None,
               "fetcher_version": FETCHER_VERSION, "run_id": run_id}
        try:
            res = client.get(ref.url)
            row.update(final_url=res.final_url, status=res.status, content_type=res.content_type or None,
                       headers_json=json.dumps(res.headers, sort_keys=True), fetched_at=res.fetched_at,
                       sha256=hashlib.sha256(res.body).hexdigest(), body=res.body, body_bytes=len(res.body),
                       attempts=res.attempts, elapsed_ms=int(res.elapsed_s * 1000))
            reason = block_reason(res.body, res.content_type, expect_html=ref.expect_html)
            if reason:
                kind = errors.EmptyPage.kind if reason == "empty page" else errors.BlockedPage.kind
                row.update(error_kind=kind, error=f"{ref.url}: {reason}")
                log(f"[{i}/{len(refs)}] ERROR {ref.title!r}: {reason}")
                if kind == errors.BlockedPage.kind:
                    yield row
                    log(f"stopping: the host serves challenge pages; {len(refs) - i} page(s) left for a later run")
                    return
            else:
                log(f"[{i}/{len(refs)}] fetched {ref.title!r} ({len(res.body)} bytes, {res.attempts} attempt(s))")
        except errors.FetchError as exc:
            row.update(status=exc.status, error_kind=exc.kind, error=str(exc), attempts=exc.attempts,
                       fetched_at=dt.datetime.now(dt.timezone.utc))
            log(f"[{i}/{len(refs)}] ERROR {ref.title!r}: {exc}")
        yield row
