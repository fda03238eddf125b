"""Bronze helpers: what was already fetched, and the per-run fetch statistics."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd

from .lakehouse import Lakehouse
from .page_identity import page_key
from .schemas import BRONZE_RAW


def identity(source: str, title: str | None, url: str) -> str:
    """The page identity a fetch belongs to (the same mix under another URL, port or base URL is one page)."""
    return f"identity:{source}|{page_key(source, title, url)}"


def last_successful_fetches(lake: Lakehouse, within: dt.timedelta | None = None,
                            now: dt.datetime | None = None) -> dict[str, tuple[dt.datetime, str]]:
    """URL -> (fetched_at, sha256) of its newest successful fetch; the same under the page's identity key
    (``identity(...)``), so a page is not fetched again under a new URL.

    ``within``: only the bronze files written in that time (a file is written once, after its fetches, and never
    rewritten, so its mtime bounds every fetch in it: a fetch newer than the window is in a file newer than the
    window, whatever scrape date it was filed under). The daily cost is then the window's files, not history."""
    columns = ["source", "record_kind", "url", "page_title", "fetched_at", "status", "error_kind", "sha256"]
    if within is None:
        df = lake.read(BRONZE_RAW, columns=columns)
    else:
        df = lake.read_recent(BRONZE_RAW, "fetched_at", (now or dt.datetime.now(dt.timezone.utc)) - within, columns)
    if df.empty:
        return {}
    ok = df[(df["status"] == 200) & df["error_kind"].isna()].sort_values("fetched_at")
    newest = ok.drop_duplicates("url", keep="last")
    out = {r.url: (r.fetched_at.to_pydatetime(), r.sha256) for r in newest.itertuples(index=False)}
    for r in newest[newest["record_kind"] == "page"].itertuples(index=False):
        key = identity(r.source, r.page_title, r.url)
        if key not in out or out[key][0] < r.fetched_at.to_pydatetime():
            out[key] = (r.fetched_at.to_pydatetime(), r.sha256)
    return out


def split_fresh(refs: list, already: dict[str, tuple[dt.datetime, str]], max_age: dt.timedelta,
                now: dt.datetime | None = None) -> tuple[list, list]:
    """(refs to fetch, refs whose page was fetched successfully under any URL within ``max_age``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    fetch, fresh = [], []
    for ref in refs:
        last = already.get(identity(ref.source, ref.title, ref.url), (None, None))[0]
        (fresh if last is not None and now - last < max_age else fetch).append(ref)
    return fetch, fresh


def duplicate_pages(rows: pd.DataFrame, previous: dict[str, tuple[dt.datetime, str]]) -> int:
    """Fetched pages whose body is byte-identical to the previous successful fetch of the same URL."""
    if rows.empty:
        return 0
    ok = rows[rows["error_kind"].isna()]
    return int(sum(1 for r in ok.itertuples(index=False) if r.url in previous and previous[r.url][1] == r.sha256))


def fetch_summary(rows: pd.DataFrame) -> dict[str, int]:
    """Counts for the materialisation metadata: pages, errors by kind, bytes."""
    out: Counter[str] = Counter()
    out["pages_fetched"] = int(len(rows))
    if rows.empty:
        out["pages_ok"] = 0
        return dict(out)
    ok = rows["error_kind"].isna()
    out["pages_ok"] = int(ok.sum())
    out["pages_error"] = int((~ok).sum())
    for kind, n in rows.loc[~ok, "error_kind"].value_counts().items():
        out[f"errors_{kind}"] = int(n)
    out["body_bytes"] = int(rows["body_bytes"].fillna(0).sum())
    return dict(out)
