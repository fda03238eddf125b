"""A re-run while a source is down keeps every previously matched row, and gold keeps its fields."""

import datetime as dt
import shutil

import dagster as dg
import pandas as pd

from songnodes_assets.lib.enrich.keep_good import keep_better
from songnodes_assets.lib.schemas import ENRICHMENT, GOLD_ENRICHED

from .test_enrichment_pipeline import DATE, env, instance, job, lake, materialize  # noqa: F401 (fixtures)

SPOTIFY = dg.AssetKey(["enrichment", "spotify"])


def _row(track_id, status, **kw):
    return {"track_id": track_id, "status": status, "scrape_date": DATE, "error_class": None, "error": None,
            "fetched_at": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc), **kw}


def test_keep_better_ranks_and_stamps_the_failed_attempt():
    previous = pd.DataFrame([_row("a", "matched", source_id="x"), _row("b", "not_found"), _row("c", "failed"),
                             _row("d", "matched", source_id="y")])
    new = [_row("a", "failed", error_class="server_error", error="503"), _row("b", "failed", error_class="timeout"),
           _row("c", "matched", source_id="z"), _row("d", "not_found", match_reason="no candidate"), _row("e", "failed")]
    now = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    rows, counts = keep_better(new, previous, now=now)
    by = {r["track_id"]: r for r in rows}
    assert by["a"]["status"] == "matched" and by["a"]["source_id"] == "x"
    assert by["a"]["last_error_class"] == "server_error" and by["a"]["last_attempt_at"] == now
    assert by["b"]["status"] == "not_found" and by["b"]["last_error_class"] == "timeout"
    assert by["c"]["status"] == "matched" and by["c"]["last_error"] is None  # a better answer replaces
    assert by["d"]["status"] == "matched" and by["d"]["last_error_class"] == "not_found"
    assert by["e"]["status"] == "failed" and by["e"]["last_error_class"] is None  # error_class None in this row
    assert counts == {"kept_previous": 3, "kept_previous_matched": 2, "kept_previous_not_found": 1, "regressions": 0}


def test_rerun_with_the_source_down_keeps_matched_rows_and_gold_fields(env, instance):
    site, apis, tmp = env
    assert job("songnodes_main", instance).success
    assert job("songnodes_gold", instance).success
    before = lake().read(ENRICHMENT["spotify"], DATE)
    gold_before = lake().read(GOLD_ENRICHED, DATE)
    matched_before = set(before.loc[before["status"] == "matched", "track_id"])
    assert len(matched_before) > 10
    shutil.rmtree(tmp / "cache")  # as on a host with another cache (or another base URL): every call is real
    apis.set_fault("spotify", "503")
    result = materialize([SPOTIFY], instance)
    assert not result.success  # the partition still fails while the source is down
    after = lake().read(ENRICHMENT["spotify"], DATE)
    assert set(after.loc[after["status"] == "matched", "track_id"]) == matched_before
    kept = after[after["track_id"].isin(matched_before)]
    assert kept["last_error_class"].notna().all() and kept["last_attempt_at"].notna().all()
    assert (kept["source_id"].values == before.set_index("track_id").loc[kept["track_id"], "source_id"].values).all()
    assert job("songnodes_gold", instance).success
    gold_after = lake().read(GOLD_ENRICHED, DATE)
    assert gold_after["spotify_id"].notna().sum() == gold_before["spotify_id"].notna().sum() > 10
    # the source comes back: the repair run answers again and clears nothing good
    apis.set_fault("spotify", None)
    assert materialize([SPOTIFY], instance).success
    healed = lake().read(ENRICHMENT["spotify"], DATE)
    assert set(healed.loc[healed["status"] == "matched", "track_id"]) == matched_before
    assert healed["last_error_class"].isna().all()
