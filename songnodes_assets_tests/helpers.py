"""Small builders shared by tests (our own fixtures, no corpus files)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd

from songnodes_assets.lib.schemas import BRONZE_RAW


def wiki_page(lines: list[str] | str, categories: tuple[str, ...] = ("2024", "Techno")) -> str:
    body = lines if isinstance(lines, str) else "\n".join(lines)
    cats = "\n".join(f"[[Category:{c}]]" for c in categories)
    return f"== Tracklist ==\n\n{body}\n\n{cats}\n"


def bronze_frame(pages: dict[str, str], scrape_date: str = "2024-05-01", status: int = 200,
                 fetched_at: dt.datetime | None = None) -> pd.DataFrame:
    """Bronze rows as the crawler writes them, for page title -> wikitext."""
    when = fetched_at or dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    rows = []
    for title, text in pages.items():
        body = text.encode("utf-8")
        url = "http://127.0.0.1/w/" + title.replace(" ", "_") + "?action=raw"
        rows.append({"scrape_date": scrape_date, "source": "mixesdb", "record_kind": "page", "url": url,
                     "final_url": url, "page_title": title, "status": status,
                     "content_type": "text/x-wiki; charset=UTF-8", "headers_json": "{}", "fetched_at": when,
                     "sha256": hashlib.sha256(body).hexdigest(), "body": body, "body_bytes": len(body),
                     "error_kind": None, "error": None, "attempts": 1, "elapsed_ms": 1,
                     "fetcher_version": "test", "run_id": "test-run"})
    return BRONZE_RAW.conform(rows)


def stop_group(proc, timeout: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started (TERM, then KILL)."""
    import os
    import signal
    import subprocess

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
