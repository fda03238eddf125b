"""Bronze helpers: what was already fetched, and the per-run fetch statistics."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd

from .lakehouse import Lakehouse
from .schemas import BRONZE_RAW


def last_successful_fetches(lake: Lakehouse) -> dict[str, dt.datetime]:
    """URL -> newest fetched_at of a successful fetch, over every bronze partition."""
    df = lake.read(BRONZE_RAW, columns=["url", "fetched_at", "status", "error_kind"])
    if df.empty:
        return {}
    ok = df[(df["status"] == 200) & df["error_kind"].isna()]
    newest = ok.groupby("url")["fetched_at"].max()
    return {url: ts.to_pydatetime() for url, ts in newest.items()}


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
