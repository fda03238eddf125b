"""Recognise pages that are not content: empty bodies and captcha / anti-bot challenge pages."""

from __future__ import annotations

import re

_BLOCK_MARKERS = re.compile(
    rb"name=[\"']captcha[\"']|g-recaptcha|h-captcha|hcaptcha\.com|cf-turnstile|challenges\.cloudflare\.com"
    rb"|cf-challenge|cf_chl_|/cdn-cgi/challenge-platform|<title>\s*just a moment\.\.\.|attention required! \| cloudflare"
    rb"|checking your browser before accessing|ddos protection by|verify you are (?:a )?human"
    rb"|are you a robot|forwa(?:r)?ded to the wanted page|please complete the security check",
    re.IGNORECASE,
)


def block_reason(body: bytes, content_type: str | None, expect_html: bool) -> str | None:
    """Why this body is not a content page, or None when it looks like one.

    ``expect_html`` False means the caller asked for raw text (e.g. MediaWiki ``action=raw``): an
    HTML answer then is itself a sign of a challenge page.
    """
    if not body or not body.strip():
        return "empty page"
    head = body[:300_000]
    if _BLOCK_MARKERS.search(head):
        return "captcha / anti-bot challenge page"
    ctype = (content_type or "").lower()
    looks_html = "html" in ctype or head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    if not expect_html and looks_html:
        return "HTML page where raw wikitext was expected (challenge or error page)"
    return None
