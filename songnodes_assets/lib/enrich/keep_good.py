"""Never replace a good enrichment result with a worse one. A lookup that fails (source down, breaker open,
credentials rejected, timeout, unreadable answer) or comes back "not found" where a match was known keeps
the previous row for that track and source, with the failed attempt recorded beside it
(``last_attempt_at``, ``last_error_class``, ``last_error``); gold never loses a field to an outage.

Rows come back with their keys in contract order (``ENRICHMENT_COLUMNS``), ready for ``conform``; a row
without the artist lists (``artist_names``, ``artist_ids``: a previous row from a file written before they
existed, or a row built by hand) gets empty lists, so the kept row carries them like every other field."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from ..schemas import ENRICHMENT_COLUMNS

RANK = {"matched": 3, "not_found": 2, "failed": 1, "skipped": 0}


def _clean(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


_ORDER = [c.name for c in ENRICHMENT_COLUMNS]
_LIST_DEFAULTS = ("artist_names", "artist_ids")


def _in_contract_order(row: dict) -> dict:
    """The row with its keys in contract order; unknown keys stay at the end (validation names them)."""
    for name in _LIST_DEFAULTS:
        if not isinstance(row.get(name), list):
            row[name] = list(row[name]) if isinstance(row.get(name), tuple) else []
    return {**{k: row[k] for k in _ORDER if k in row}, **{k: v for k, v in row.items() if k not in _ORDER}}


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
    out = [_in_contract_order(r) for r in out]
    regressions = sum(1 for r in out if old.get(r["track_id"], {}).get("status") == "matched" and r["status"] != "matched")
    return out, {"kept_previous": sum(kept.values()), **{f"kept_previous_{k}": v for k, v in kept.items()},
                 "regressions": regressions}
