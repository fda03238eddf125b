"""The offline sample site: a tiny MediaWiki look-alike serving our own sample mix pages on 127.0.0.1.

It answers the same URLs the scraper uses on mixesdb.com: ``/robots.txt``, ``/w/<Title>?action=raw``
(wikitext), ``/w/api.php?action=query&list=categorymembers|recentchanges&format=json`` and a minimal
rendered ``/w/<Title>`` page. Every request is logged in ``SampleSite.requests`` so tests can count them.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .local_server import LocalServer

_CATEGORY_RE = re.compile(r"\[\[\s*Category\s*:\s*([^\]|]+?)\s*(?:\|[^\]]*)?\]\]", re.IGNORECASE)


def load_pages() -> dict[str, str]:
    """Sample pages by title (title -> wikitext)."""
    base = resources.files("songnodes_assets.sample_site")
    manifest = json.loads((base / "pages.json").read_text(encoding="utf-8"))
    return {title: (base / "pages" / fname).read_text(encoding="utf-8") for fname, title in manifest.items()}


def page_path(title: str) -> str:
    return "/w/" + quote(title.replace(" ", "_"), safe="@,'()!:")


@dataclass
class SampleSite(LocalServer):
    pages: dict[str, str] = field(default_factory=load_pages)
    robots_txt: str = "User-agent: *\nDisallow: /w/Special:\nAllow: /\n"
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[str] = field(default_factory=list)
    extra: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (content type, body), e.g. HTML pages
    page_delay_s: float = 0.0  # tests: make page fetches slow
    _server: ThreadingHTTPServer | None = None

    def categories(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for title, text in self.pages.items():
            for cat in _CATEGORY_RE.findall(text):
                out.setdefault(cat.strip(), []).append(title)
        return out

    def start(self) -> "SampleSite":
        site = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test and demo output clean
                pass

            def do_GET(self):  # noqa: N802 (http.server API)
                site.requests.append(self.path)
                status, ctype, body = site.respond(self.path)
                data = body if isinstance(body, bytes) else body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return self._serve(Handler, "sample-site")

    # ---- routing --------------------------------------------------------------------------------
    def respond(self, raw_path: str) -> tuple[int, str, str]:
        parts = urlsplit(raw_path)
        qs = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", self.robots_txt
        if parts.path in self.extra:
            ctype, body = self.extra[parts.path]
            return 200, ctype, body
        if parts.path == "/w/api.php":
            return self._api(qs)
        if parts.path.startswith("/w/"):
            title = unquote(parts.path[3:]).replace("_", " ")
            text = self.pages.get(title)
            if title.startswith("Category:"):
                members = self.categories().get(title.split(":", 1)[1], [])
                links = "".join(f'<li><a href="{html.escape(page_path(t))}">{html.escape(t)}</a></li>' for t in members)
                return 200, "text/html; charset=utf-8", f'<html><body><div id="mw-pages"><ul>{links}</ul></div></body></html>'
            if text is None:
                return 404, "text/html; charset=utf-8", "<html><body>There is currently no text in this page.</body></html>"
            if qs.get("action") == "raw":
                if self.page_delay_s:
                    time.sleep(self.page_delay_s)
                return 200, "text/x-wiki; charset=UTF-8", text
            return 200, "text/html; charset=utf-8", f"<html><body><h1 id=\"firstHeading\">{html.escape(title)}</h1><pre>{html.escape(text)}</pre></body></html>"
        return 404, "text/plain; charset=utf-8", "not found"

    def _api(self, qs: dict[str, str]) -> tuple[int, str, str]:
        if qs.get("action") != "query":
            return 200, "application/json", json.dumps({"error": {"code": "badvalue", "info": "only action=query"}})
        limit = int(qs.get("cmlimit") or qs.get("rclimit") or 50)
        offset = int(qs.get("cmcontinue") or qs.get("rccontinue") or 0)
        if qs.get("list") == "categorymembers":
            cat = qs.get("cmtitle", "").split(":", 1)[-1].replace("_", " ")
            titles = sorted(self.categories().get(cat, []))
            key = "categorymembers"
            cont_key = "cmcontinue"
        elif qs.get("list") == "recentchanges":
            titles = list(self.pages)
            key = "recentchanges"
            cont_key = "rccontinue"
        else:
            return 200, "application/json", json.dumps({"error": {"code": "badvalue", "info": "unsupported list"}})
        chunk = titles[offset: offset + limit]
        body: dict = {"batchcomplete": "", "query": {key: [{"ns": 0, "title": t} for t in chunk]}}
        if offset + limit < len(titles):
            body["continue"] = {cont_key: str(offset + limit), "continue": "-||"}
        return 200, "application/json", json.dumps(body)
