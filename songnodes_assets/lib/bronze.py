"""Bronze helpers: what was already fetched, and the per-run fetch statistics."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd

from .lakehouse import Lakehouse
from .schemas import BRONZE_RAW


def last_successful_fetches(lake: Lakehouse) -> dict[str, tuple[dt.datetime, str]]:
    """URL -> (fetched_at, sha256) of its newest successful fetch, over every bronze partition."""
    df = lake.read(BRONZE_RAW, columns=["url", "fetched_at", "status", "error_kind", "sha256"])
    if df.empty:
        return {}
    ok = df[(df["status"] == 200) & df["error_kind"].isna()].sort_values("fetched_at")
    newest = ok.drop_duplicates("url", keep="last")
    return {r.url: (r.fetched_at.to_pydatetime(), r.sha256) for r in newest.itertuples(index=False)}


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
