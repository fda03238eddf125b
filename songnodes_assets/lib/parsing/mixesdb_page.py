"""A MixesDB page (raw wikitext, or rendered MediaWiki HTML) -> title, categories and tracklist lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

_TRACKLIST_HEADING_RE = re.compile(r"^\s*==\s*Tracklist\s*==\s*$", re.IGNORECASE)
_LEVEL2_HEADING_RE = re.compile(r"^\s*==[^=].*[^=]==\s*$")
_CATEGORY_RE = re.compile(r"\[\[\s*Category\s*:\s*([^\]|]+?)\s*(?:\|[^\]]*)?\]\]", re.IGNORECASE)
_PAGE_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_TRACKLIST_STATUS_RE = re.compile(r"^Tracklist:\s*(\w+)", re.IGNORECASE)


@dataclass
class MixPage:
    title: str
    categories: list[str] = field(default_factory=list)
    has_tracklist_section: bool = False
    tracklist_lines: list[tuple[int, str]] = field(default_factory=list)  # (1-based line in page, text)
    tracklist_status: str | None = None  # complete | incomplete | none (from "Tracklist: …" category)


def parse_wikitext(text: str, title: str) -> MixPage:
    """Cut the ``== Tracklist ==`` section out of a page's wikitext; it ends at the next level-2
    heading or the first ``[[Category:`` line. Categories are read from the whole page."""
    page = MixPage(title=title)
    # HTML comments are invisible in MediaWiki and may span lines: drop them, keeping the line numbers
    text = _PAGE_COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    page.categories = _unique(m.group(1).replace("_", " ").strip() for m in _CATEGORY_RE.finditer(text))
    for cat in page.categories:
        m = _TRACKLIST_STATUS_RE.match(cat)
        if m:
            page.tracklist_status = m.group(1).lower()
    inside = False
    for i, line in enumerate(text.splitlines(), start=1):
        if _TRACKLIST_HEADING_RE.match(line):
            inside = True
            page.has_tracklist_section = True
            continue
        if not inside:
            continue
        if _LEVEL2_HEADING_RE.match(line) or line.lstrip().lower().startswith("[[category:"):
            inside = False
            continue
        page.tracklist_lines.append((i, line))
    return page


def parse_rendered_html(html_text: str, fallback_title: str) -> MixPage:
    """Rendered MediaWiki HTML: the list after the "Tracklist" heading (``ol/ul > li`` or
    ``div.list-track``), ``dl > dt`` sub-headings, and ``#catlinks`` categories."""
    from parsel import Selector

    sel = Selector(text=html_text)
    title = (sel.css("h1#firstHeading ::text").get() or fallback_title).strip()
    page = MixPage(title=title)
    page.categories = _unique(t.strip() for t in sel.css("#catlinks a::text").getall()
                              if t.strip() and t.strip() != "Categories")
    for cat in page.categories:
        m = _TRACKLIST_STATUS_RE.match(cat)
        if m:
            page.tracklist_status = m.group(1).lower()
    heading = sel.xpath("//*[self::h2][.//*[@id='Tracklist'] or @id='Tracklist' or normalize-space(.)='Tracklist']")
    if not heading:
        return page
    page.has_tracklist_section = True
    line_no = 0
    for node in heading[0].xpath("following-sibling::*"):
        tag = node.root.tag if hasattr(node.root, "tag") else ""
        if tag == "h2" or (tag == "div" and "mw-heading2" in (node.attrib.get("class") or "")):
            break
        if tag in {"dl"}:
            for dt in node.css("dt"):
                line_no += 1
                page.tracklist_lines.append((line_no, ";" + " ".join(dt.css("::text").getall()).strip()))
            continue
        items = node.css("li") if tag in {"ol", "ul"} else node.css("div.list-track")
        if not items and tag == "div":
            items = node.css("ol > li, ul > li")
        for item in items:
            line_no += 1
            page.tracklist_lines.append((line_no, " ".join(" ".join(item.css("::text").getall()).split())))
    return page


def _unique(items) -> list[str]:
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out


def title_from_url(url: str) -> str:
    """MediaWiki page title from ``/w/Title``, ``/w/index.php?title=Title`` or ``/wiki/Title``."""
    parts = urlsplit(url)
    qs = parse_qs(parts.query)
    if "title" in qs:
        return unquote(qs["title"][0]).replace("_", " ")
    path = parts.path
    for prefix in ("/w/", "/wiki/", "/db/"):
        if path.startswith(prefix):
            return unquote(path[len(prefix):]).replace("_", " ")
    return unquote(path.rsplit("/", 1)[-1]).replace("_", " ")
