"""Canonical artists: real name variants from the corpus merged by named rules, external artist ids from the
enrichment sources (real API shapes), and two artists whose names fold alike kept apart by their ids."""

import csv
import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from songnodes_assets.lib.analytics.artists import (artist_key, build_artist_analytics, build_artist_collaborations,
                                                    build_artists, make_artist_id, merge_rules)
from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.enrich.api_client import ApiClient
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.keep_good import keep_better
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.lib.enrich.runner import _row
from songnodes_assets.lib.enrich.sources import SOURCES
from songnodes_assets.lib.enrich.sources.base import SourceConfig, artist_fields
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.matching import TrackQuery
from songnodes_assets.lib.schemas import (ENRICHMENT, GOLD_ARTIST_ANALYTICS, GOLD_ARTIST_COLLABORATIONS, GOLD_ARTISTS,
                                          SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_PROBLEMS, SILVER_TRACKS,
                                          SILVER_TRANSITIONS)
from songnodes_assets.lib.silver_build import build_silver

from .helpers import bronze_frame, wiki_page

DATE = "2024-05-01"
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
MERGER = "mixesdb/tracklists/userscripts_Tracklist_Merger_Examples.txt"


def corpus_lines(corpus, rel, *needles):
    """The corpus lines (as MixesDB editors wrote them) holding each needle, first hit each."""
    lines = (corpus / rel).read_text(encoding="utf-8").splitlines()
    return [next(line for line in lines if n in line) for n in needles]


def cosmic_gate_names(corpus, *needles):
    with open(corpus / "1001tracklists/with_spotify_features/cosmic_gate_example.csv", encoding="utf-8") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    return [next(n for n in names if needle in n) for needle in needles]


def lakehouse(tmp_path, pages: dict[str, list[str]]):
    t = build_silver(bronze_frame({title: wiki_page(lines) for title, lines in pages.items()}, DATE), DATE)
    lake = Lakehouse(tmp_path)
    for spec, df in ((SILVER_PLAYLISTS, t.playlists), (SILVER_PLAYLIST_TRACKS, t.playlist_tracks),
                     (SILVER_TRACKS, t.tracks), (SILVER_TRANSITIONS, t.transitions), (SILVER_PROBLEMS, t.problems)):
        lake.write(spec, df, DATE)
    return lake, t


def enrichment_rows(lake, source, rows):
    spec = ENRICHMENT[source]
    full = [{c: None for c in spec.column_names} | {
        "source": source, "status": "matched", "is_retriable": False, "attempts": 1, "api_calls": 1,
        "cache_hits": 0, "fetched_at": NOW, "scrape_date": DATE, "source_version": "1"} | r for r in rows]
    lake.write(spec, spec.conform(full), DATE)


def track_of(t, title):
    return t.tracks.loc[t.tracks["title"] == title, "track_id"].item()


def build_all(root):
    con = connect(root)
    artists = build_artists(con, NOW)
    return artists, build_artist_analytics(con, NOW, artists), build_artist_collaborations(con, NOW, artists)


def by_key(artists):
    return {r["fold_key"]: r for r in artists.to_dict("records")}


# ---- rules ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant,name,rules", [
    ("Giolì", "Gioli", ["accents"]), ("KEVSKI", "Kevski", ["case"]), ("The Prodigy", "Prodigy", ["the_prefix"]),
    ("Persuader, The", "The Persuader", ["the_prefix"]), ("Eli and Fur", "Eli & Fur", ["and_ampersand"]),
    ("Simon + Garfunkel", "Simon & Garfunkel", ["and_ampersand"]), ("D.J. Koze", "DJ Koze", ["punctuation"]),
    ("TIËSTO", "Tiesto", ["case", "accents"]), ("Kevski", "Kevski", []),
])
def test_fold_key_and_merge_rules(variant, name, rules):
    assert artist_key(variant) == artist_key(name)
    assert merge_rules(variant, name) == rules


def test_fold_key_keeps_names_apart_and_never_empty():
    assert artist_key("The The") == "the" and artist_key("!!!") == "!!!"
    assert artist_key("Cosmic Gate") != artist_key("Cosmic Gate Third Contact")
    assert make_artist_id("kevski") == make_artist_id(artist_key("KEVSKI")) != make_artist_id("kevski", "musicbrainz:x")


# ---- real variants through the real silver build -------------------------------------------------------------
def test_real_name_variants_merge_with_roles_rules_and_collaborations(corpus, tmp_path):
    first = corpus_lines(corpus, MERGER, "# TH;EN & Gioli & Assia", "# KEVSKI - Before We Die",
                         "# Collabs Feat. Speedy J", "# Eli & Fur - Make Believe")
    second = corpus_lines(corpus, MERGER, "[00] TH;EN & Giolì & Assia", "[55] Kevski - Before We Die")
    cg = ["# " + n for n in cosmic_gate_names(corpus, "The Prodigy - Out Of Space", "Cosmic Gate vs. Prodigy")]
    lake, t = lakehouse(tmp_path, {"2024-01-01 - DJ One - Show": first + cg,
                                   "2024-01-02 - DJ Two & DJ Three - Other": second})
    artists, analytics, collabs = build_all(tmp_path)
    for spec, df in ((GOLD_ARTISTS, artists), (GOLD_ARTIST_ANALYTICS, analytics),
                     (GOLD_ARTIST_COLLABORATIONS, collabs)):
        spec.validate(df)
    a = by_key(artists)
    assert set(a["gioli"]["variants"]) == {"Gioli", "Giolì"} and a["gioli"]["merge_rules"] == ["accents"]
    assert a["kevski"]["variants"] == ["KEVSKI", "Kevski"] and a["kevski"]["merge_rules"] == ["case"]
    assert a["kevski"]["name"] == "KEVSKI"  # same use count: the tie goes to the smaller text
    prodigy = a["prodigy"]
    assert set(prodigy["variants"]) == {"Prodigy", "The Prodigy"} and prodigy["merge_rules"] == ["the_prefix"]
    assert prodigy["n_tracks"] == 2 and prodigy["evidence"].startswith("2 variants, 2 tracks")
    assert a["speedy j"]["roles"] == ["featured"] and a["collabs"]["roles"] == ["primary"]
    assert a["cosmic gate third contact"]["roles"] == ["remixer"]
    assert len(artists) == artists["artist_id"].nunique() == artists["fold_key"].nunique()
    assert all(r["artist_id"] == make_artist_id(r["fold_key"]) for r in a.values())
    # analytics: the Gioli track is played in both playlists (two entries), by three DJs
    an = analytics.set_index("artist_id")
    gioli = an.loc[a["gioli"]["artist_id"]]
    assert (gioli["tracks"], gioli["plays"], gioli["playlists"], gioli["djs"], gioli["collaborators"]) == (1, 2, 2, 3, 2)
    assert gioli["labels"] == ["Resurrection"] and gioli["first_active_year"] == 2024
    assert an.loc[a["prodigy"]["artist_id"], "collaborators"] == 2  # Cosmic Gate, Cosmic Gate Third Contact
    # collaborations: featured artists count as credits; a < b; plays = entries of the shared tracks
    names = {(r["name_a"], r["name_b"]): r for r in collabs.to_dict("records")}
    assert all(r["artist_id_a"] < r["artist_id_b"] for r in names.values())
    pair = {frozenset(k): v for k, v in names.items()}
    assert pair[frozenset({"Speedy J", "Chris Liebing"})]["tracks"] == 1
    assert pair[frozenset({"Gioli", "Assia"})]["plays"] == 2
    assert pair[frozenset({"Eli", "Fur"})]["tracks"] == 1  # the parser splits the duo "Eli & Fur" on "&"


def test_rebuild_gives_identical_ids_and_rows(corpus, tmp_path):
    lines = corpus_lines(corpus, MERGER, "# TH;EN & Gioli & Assia", "[00] TH;EN & Giolì & Assia",
                         "# KEVSKI - Before We Die", "[55] Kevski - Before We Die")
    lakehouse(tmp_path, {"2024-01-01 - DJ One - Show": lines})
    one, two = build_all(tmp_path), build_all(tmp_path)
    for x, y in zip(one, two):
        assert x.drop(columns="built_at").equals(y.drop(columns="built_at"))
    assert list(one[0]["artist_id"]) == list(two[0]["artist_id"])


def test_empty_lakehouse_gives_empty_valid_frames(tmp_path):
    artists, analytics, collabs = build_all(tmp_path)
    assert artists.empty and analytics.empty and collabs.empty
    GOLD_ARTISTS.validate(artists)
    GOLD_ARTIST_ANALYTICS.validate(analytics)
    GOLD_ARTIST_COLLABORATIONS.validate(collabs)


# ---- external ids ----------------------------------------------------------------------------------------------
def test_two_artists_folding_alike_with_different_musicbrainz_ids_stay_two(corpus, tmp_path):
    # The tracklist lines are real; that two different KEVSKIs exist is the test's premise (ids made up).
    real = corpus_lines(corpus, MERGER, "# KEVSKI - Before We Die", "[55] Kevski - Before We Die")
    lake, t = lakehouse(tmp_path, {"2024-01-01 - DJ One - Show": real + ["# Kevski - Other Song", "# kevski - Third"]})
    before, other, third = (track_of(t, x) for x in ("Before We Die", "Other Song", "Third"))
    mb_a, mb_b = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    enrichment_rows(lake, "musicbrainz", [
        {"track_id": before, "artist_names": ["Kevski"], "artist_ids": [mb_a]},
        {"track_id": other, "artist_names": ["Kevski"], "artist_ids": [mb_b]}])
    enrichment_rows(lake, "spotify", [
        {"track_id": before, "artist_names": ["KEVSKI"], "artist_ids": ["sp1"]},
        {"track_id": third, "artist_names": ["Kevski"], "artist_ids": ["sp1"]}])  # only Spotify: goes with mb_a
    artists, analytics, collabs = build_all(tmp_path)
    GOLD_ARTISTS.validate(artists)
    kev = artists[artists["fold_key"] == "kevski"].set_index("artist_id")
    assert len(kev) == 2
    id_a, id_b = make_artist_id("kevski", f"musicbrainz:{mb_a}"), make_artist_id("kevski", f"musicbrainz:{mb_b}")
    assert set(kev.index) == {id_a, id_b}
    assert kev.loc[id_a, "musicbrainz_artist_ids"] == [mb_a] and kev.loc[id_a, "spotify_artist_ids"] == ["sp1"]
    assert kev.loc[id_b, "musicbrainz_artist_ids"] == [mb_b] and kev.loc[id_b, "n_tracks"] == 1
    assert kev.loc[id_a, "n_tracks"] == 2 and "split: 2 musicbrainz artist ids" in kev.loc[id_a, "evidence"]
    assert mb_b in kev.loc[id_b, "evidence"]
    assert GOLD_ARTIST_ANALYTICS.validate(analytics)["artist_id"].isin([id_a, id_b]).sum() == 2
    # a track with no id evidence goes to the largest group and the evidence says so
    enrichment_rows(lake, "musicbrainz", [  # a newer file: the same answers, fetched later
        {"track_id": before, "artist_names": ["Kevski"], "artist_ids": [mb_a], "fetched_at": NOW + dt.timedelta(1)},
        {"track_id": other, "artist_names": ["Kevski"], "artist_ids": [mb_b], "fetched_at": NOW + dt.timedelta(1)}])
    lake.partition_dir(ENRICHMENT["spotify"], DATE).joinpath("part.parquet").unlink()
    again = build_artists(connect(tmp_path), NOW).set_index("artist_id")
    assert again.loc[id_a, "n_tracks"] == 2 and again.loc[id_b, "n_tracks"] == 1
    assert "1 of them without id evidence (attached to the largest group)" in again.loc[id_a, "evidence"]


def test_one_agreeing_id_does_not_split_and_is_reported(corpus, tmp_path):
    real = corpus_lines(corpus, MERGER, "# KEVSKI - Before We Die", "[55] Kevski - Before We Die")
    lake, t = lakehouse(tmp_path, {"2024-01-01 - DJ One - Show": real})
    enrichment_rows(lake, "musicbrainz", [{"track_id": track_of(t, "Before We Die"), "artist_names": ["Kevski"],
                                           "artist_ids": ["mb-1"]}])
    enrichment_rows(lake, "discogs", [{"track_id": track_of(t, "Before We Die"), "artist_names": ["Someone Else"],
                                       "artist_ids": ["99"]}])  # another name: no evidence for Kevski
    row = by_key(build_artists(connect(tmp_path), NOW))["kevski"]
    assert row["artist_id"] == make_artist_id("kevski") and row["musicbrainz_artist_ids"] == ["mb-1"]
    assert row["discogs_artist_ids"] == [] and "musicbrainz id mb-1 on 1 of 1 track" in row["evidence"]


def _adapter(name, httpserver, tmp_path, creds=None, options=None):
    cfg = SourceConfig(name=name, base_url=httpserver.url_for("").rstrip("/"), enabled=True, min_interval_s=0,
                       credentials=creds or {}, missing_credentials=[], options=options or {})
    client = ApiClient(name, cfg.base_url, limiter=SharedRateLimiter(tmp_path / "rl.sqlite", name, 0),
                       cache=ResponseCache(tmp_path / "cache.sqlite"), user_agent="SongNodesTest/1 (+test)",
                       secrets=cfg.secrets)
    return SOURCES[name](cfg), client


def _load(corpus, rel):
    return json.loads((corpus / rel).read_text(encoding="utf-8"))


def test_musicbrainz_and_spotify_give_artist_ids_from_real_answers(corpus, httpserver, tmp_path):
    httpserver.expect_request("/ws/2/recording").respond_with_json(
        _load(corpus, "musicbrainz/credits_spot_recording_search_zankoku_na_tenshi_no_these.json"))
    httpserver.expect_request("/api/token", method="POST").respond_with_json({"access_token": "tok", "expires_in": 3600})
    httpserver.expect_request("/v1/search").respond_with_json(_load(corpus, "spotify/beets_fixture_track_request.json"))
    mb, mb_client = _adapter("musicbrainz", httpserver, tmp_path / "mb")
    res = mb.lookup(mb_client, TrackQuery("t1", ["河井英里"], "残酷な天使のテーゼ"), {})
    assert res.fields["artist_names"] == ["河井英里"]
    assert res.fields["artist_ids"] == ["69a5f935-8175-4f80-bbfa-744f017ef27c"]
    sp, sp_client = _adapter("spotify", httpserver, tmp_path / "sp",
                             {"SONGNODES_SPOTIFY_CLIENT_ID": "id", "SONGNODES_SPOTIFY_CLIENT_SECRET": "sec"},
                             {"auth_url": httpserver.url_for("/api/token")})
    res_sp = sp.lookup(sp_client, TrackQuery("t2", ["Pharrell Williams"], "Happy"), {})
    assert (res_sp.fields["artist_names"], res_sp.fields["artist_ids"]) == (["Pharrell Williams"], ["2RdwBSPQiwcmiDo9kixcl8"])
    # the runner keeps them, keep_better orders the row for the contract, the row is written and read back
    rows, _ = keep_better([_row(TrackQuery("t1", ["河井英里"], "x"), "musicbrainz", "matched", DATE, result=res),
                           _row(TrackQuery("t3", ["A"], "y"), "musicbrainz", "not_found", DATE)], None)
    lake = Lakehouse(tmp_path / "lake")
    lake.write(ENRICHMENT["musicbrainz"], ENRICHMENT["musicbrainz"].conform(rows), DATE)
    back = lake.read(ENRICHMENT["musicbrainz"], DATE).set_index("track_id")
    assert list(back.loc["t1", "artist_ids"]) == ["69a5f935-8175-4f80-bbfa-744f017ef27c"]
    assert list(back.loc["t3", "artist_names"]) == []


def test_discogs_search_has_no_artist_ids_but_a_release_does(corpus, httpserver, tmp_path):
    httpserver.expect_request("/database/search").respond_with_json(
        _load(corpus, "discogs/discogs_client_fixture_database_search_q_trash80_per_page_50_page_1.json"))
    dg, client = _adapter("discogs", httpserver, tmp_path, {"SONGNODES_DISCOGS_TOKEN": "dtok"})
    res = dg.lookup(client, TrackQuery("t", ["Trash80"], "Icarus"), {})
    assert res.status == "matched" and res.fields["artist_names"] == [] and res.fields["artist_ids"] == []
    release = _load(corpus, "discogs/discogs_client_fixture_releases_1.json")
    got = artist_fields(release["artists"], lambda a: a.get("name"), lambda a: a.get("id"))
    assert got == {"artist_names": ["Persuader, The"], "artist_ids": ["1"]}
    assert artist_key("Persuader, The") == artist_key("The Persuader")  # Discogs' name order folds alike


def test_files_written_before_the_artist_columns_still_read_and_keep_good_carries_them(corpus, tmp_path):
    real = corpus_lines(corpus, MERGER, "# KEVSKI - Before We Die")
    lake, t = lakehouse(tmp_path, {"2024-01-01 - DJ One - Show": real})
    spec = ENRICHMENT["musicbrainz"]
    old_cols = [c for c in spec.column_names if c not in ("artist_names", "artist_ids")]
    row = {c: None for c in spec.column_names} | {
        "track_id": track_of(t, "Before We Die"), "source": "musicbrainz", "status": "matched", "is_retriable": False,
        "attempts": 1, "api_calls": 1, "cache_hits": 0, "fetched_at": NOW, "scrape_date": DATE,
        "source_version": "1", "source_id": "rec-1"}
    old = spec.conform([row])[old_cols]
    schema = pa.schema([f for f in spec.arrow() if f.name in old_cols])
    path = lake.partition_dir(spec, DATE)
    path.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(old, schema=schema, preserve_index=False), path / "part.parquet")
    previous = lake.read(spec, DATE)
    assert previous["artist_names"].isna().all()  # nullable columns the file predates read as nulls
    assert spec.conform(previous)["artist_ids"].tolist() == [[]]
    # a failed attempt keeps the old good row, with empty artist lists, writable under the new contract
    failed = {c: None for c in spec.column_names} | {
        "track_id": row["track_id"], "source": "musicbrainz", "status": "failed", "error_class": "timeout",
        "is_retriable": True, "attempts": 1, "api_calls": 1, "cache_hits": 0, "fetched_at": NOW,
        "scrape_date": DATE, "source_version": "1"}
    kept, counts = keep_better([failed], previous, now=NOW)
    assert counts["kept_previous"] == 1 and kept[0]["source_id"] == "rec-1"
    assert list(kept[0]) == spec.column_names and kept[0]["artist_names"] == []
    # the catalog still builds artists when every enrichment file predates the columns
    assert by_key(build_artists(connect(tmp_path), NOW))["kevski"]["musicbrainz_artist_ids"] == []
    lake.write(spec, spec.conform(kept), DATE)
    assert lake.read(spec, DATE)["artist_ids"].map(list).tolist() == [[]]
