"""A re-run while a source is down keeps every previously matched row, and gold keeps its fields."""

import datetime as dt
import shutil

import dagster as dg
import pandas as pd

from songnodes_assets.lib.enrich.keep_good import keep_better
from songnodes_assets.lib.schemas import ENRICHMENT, GOLD_ENRICHED, SILVER_PROBLEMS

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
    print(f"spotify down: {len(matched_before)} matched kept; gold spotify_id "
          f"{gold_before['spotify_id'].notna().sum()} -> {gold_after['spotify_id'].notna().sum()}")
    assert gold_after["spotify_id"].notna().sum() == gold_before["spotify_id"].notna().sum() > 10
    # the source comes back: the repair run answers again and clears nothing good
    apis.set_fault("spotify", None)
    assert materialize([SPOTIFY], instance).success
    healed = lake().read(ENRICHMENT["spotify"], DATE)
    assert set(healed.loc[healed["status"] == "matched", "track_id"]) == matched_before
    assert healed["last_error_class"].isna().all()


def test_local_state_failure_mid_partition_saves_the_rows_done(tmp_path, monkeypatch):
    """The limiter's file becomes unusable after 3 lookups (here: a directory takes its place, as good as a
    full or read-only disk for SQLite): the rows done are kept, the rest are failed rows naming the file."""
    from songnodes_assets.lib.enrich.api_client import ApiClient
    from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
    from songnodes_assets.lib.enrich.runner import enrich
    from songnodes_assets.lib.enrich.sources import SOURCES
    from songnodes_assets.lib.enrich.sources.base import load_config
    from songnodes_assets.lib.matching import TrackQuery
    from songnodes_assets.sample_site.fake_apis import FakeApis

    with FakeApis() as apis:
        monkeypatch.setenv("SONGNODES_MUSICBRAINZ_BASE_URL", apis.base_url_for("musicbrainz"))
        config = load_config(SOURCES["musicbrainz"])
        state = tmp_path / "ratelimit.sqlite"
        client = ApiClient("musicbrainz", config.base_url, limiter=SharedRateLimiter(state, "musicbrainz", 0),
                           cache=None, user_agent="SongNodesTest/1")
        tracks = [TrackQuery(track_id=f"t{i}", artists=[c.artists[0]], title=c.title, remixers=[], variants=[])
                  for i, c in enumerate(apis.catalog[:8])]
        calls = {"n": 0}
        original = client.limiter.acquire

        def acquire():
            calls["n"] += 1
            if calls["n"] == 4:
                state.unlink()
                for suffix in ("-wal", "-shm"):
                    state.with_name(state.name + suffix).unlink(missing_ok=True)
                state.mkdir()
            return original()

        monkeypatch.setattr(client.limiter, "acquire", acquire)
        rows, summary = enrich(tracks, SOURCES["musicbrainz"](config), client, scrape_date=DATE)
    assert len(rows) == 8 and summary.down_reason and "local state failed" in summary.down_reason
    done = [r for r in rows if r["status"] != "failed"]
    assert len(done) == 3
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["error_class"] for r in failed} == {"local_state"} and str(state) in failed[0]["error"]


def test_a_poisoned_line_is_quarantined_and_the_day_flows_to_enrichment_and_gold(env, instance):
    site, apis, tmp = env
    site.pages["2024-03-03 - Editor DJ - Typo Show"] = (
        "== Tracklist ==\n# Trevino - Sombre Tones\n# A - (Label] (with Y)\n# Surgeon - Floorshow\n\n"
        "[[Category:Techno]]\n")
    main = job("songnodes_main", instance)
    assert main.success
    problems = lake().read(SILVER_PROBLEMS, DATE)
    assert list(problems["problem"]) == ["label_in_title"] and problems.iloc[0]["line_no"] == 3
    assert job("songnodes_gold", instance).success
    assert len(lake().read(ENRICHMENT["musicbrainz"], DATE)) > 50
    assert len(lake().read(GOLD_ENRICHED, DATE)) > 50
