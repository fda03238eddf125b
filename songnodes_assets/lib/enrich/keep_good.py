"""Never replace a good enrichment result with a worse one. A lookup that fails (source down, breaker open,
credentials rejected, timeout, unreadable answer) or comes back "not found" where a match was known keeps
the previous row for that track and source, with the failed attempt recorded beside it
(``last_attempt_at``, ``last_error_class``, ``last_error``); gold never loses a field to an outage."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

RANK = {"matched": 3, "not_found": 2, "failed": 1, "skipped": 0}


def _clean(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def keep_better(new_rows: list[dict], previous: pd.DataFrame,
                now: dt.datetime | None = None) -> tuple[list[dict], dict[str, int]]:
    """The rows to store: each new row, unless the previous row of the same track ranks higher (matched >
    not_found > failed > skipped); then the previous row, stamped with this attempt. Returns the rows and
    counts: ``kept_previous`` (by previous status) and ``regressions`` (matched tracks stored as not matched,
    which must be 0)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    old = {}
    if previous is not None and len(previous):
        for rec in previous.to_dict("records"):
            old[rec["track_id"]] = {k: _clean(v) for k, v in rec.items()}
    out, kept = [], {}
    for row in new_rows:
        prev = old.get(row["track_id"])
        row.setdefault("last_attempt_at", row.get("fetched_at"))
        row.setdefault("last_error_class", row.get("error_class") if row["status"] == "failed" else None)
        row.setdefault("last_error", row.get("error") if row["status"] == "failed" else None)
        if prev is not None and RANK.get(prev["status"], 0) > RANK.get(row["status"], 0):
            kept_row = dict(prev)
            kept_row.update(last_attempt_at=now, last_error_class=row.get("error_class") or row["status"],
                            last_error=row.get("error") or row.get("match_reason") or row["status"],
                            scrape_date=row["scrape_date"])
            out.append(kept_row)
            kept[prev["status"]] = kept.get(prev["status"], 0) + 1
        else:
            out.append(row)
    regressions = sum(1 for r in out if old.get(r["track_id"], {}).get("status") == "matched" and r["status"] != "matched")
    return out, {"kept_previous": sum(kept.values()), **{f"kept_previous_{k}": v for k, v in kept.items()},
                 "regressions": regressions}
