"""Gold analytics: the questions a DJ or analyst asks (README: Asking the data).

Unpartitioned on purpose: each table is an aggregate over all history (plays, distinct DJs, degrees, the
canonical artists), so a daily partition could not hold "one row per track". Each is rebuilt from the lakehouse
views by DuckDB (memory bounded by ``SONGNODES_DUCKDB_MEMORY_LIMIT``, default 2GB, spilling beyond) and published
as one file atomically after its blocking checks pass: readers see the previous build or the new one, and a
build failing a check is not published. They refresh by automation at most once
per ``SONGNODES_ANALYTICS_CRON`` window (default hourly) after upstream data changed, not on every landing.
"""

import datetime as dt
import os

import dagster as dg

from ...lib.analytics.artists import build_artist_analytics, build_artist_collaborations, build_artists
from ...lib.analytics.playlists import build_playlist_analytics
from ...lib.analytics.recommend import iter_next_tracks
from ...lib.analytics.tracks import build_track_analytics
from ...lib.catalog import connect
from ...lib.schemas import (GOLD_ARTIST_ANALYTICS, GOLD_ARTIST_COLLABORATIONS, GOLD_ARTISTS, GOLD_NEXT_TRACKS,
                            GOLD_PLAYLIST_ANALYTICS, GOLD_TRACK_ANALYTICS)
from ..automation.conditions import REFRESH_PER_WINDOW
from ..enrichment.factory import ENRICHMENT_KEYS
from ..metadata import materialized, table_kinds
from ..resources import LakehouseResource
from ..silver.tables import KEYS as SILVER_KEYS, silver_as_built
from .assets import ENRICHED_TRACKS, check_result

TRACK_ANALYTICS = dg.AssetKey(["gold", "track_analytics"])
PLAYLIST_ANALYTICS = dg.AssetKey(["gold", "playlist_analytics"])
NEXT_TRACKS = dg.AssetKey(["gold", "next_tracks"])
ARTISTS = dg.AssetKey(["gold", "artists"])
ARTIST_ANALYTICS = dg.AssetKey(["gold", "artist_analytics"])
ARTIST_COLLABORATIONS = dg.AssetKey(["gold", "artist_collaborations"])
ANALYTICS_KEYS = (TRACK_ANALYTICS, PLAYLIST_ANALYTICS, NEXT_TRACKS, ARTISTS, ARTIST_ANALYTICS, ARTIST_COLLABORATIONS)

_SILVER = [SILVER_KEYS["playlists"], SILVER_KEYS["playlist_tracks"], SILVER_KEYS["tracks"], SILVER_KEYS["transitions"]]


def _memory_limit() -> str:
    return os.environ.get("SONGNODES_DUCKDB_MEMORY_LIMIT", "").strip() or "2GB"


def _con(lakehouse: LakehouseResource, context):
    lake = lakehouse.get()
    return lake, connect(silver_as_built(context, lake), memory_limit=_memory_limit())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _built(lake, spec, batches, checks, metadata):
    """Stage the table's file, run its blocking checks (``checks()`` -> {check name: problems}, evaluated after
    the batches are written) and publish only when all pass. On a failed check: the check results, then a step
    failure; nothing is materialized and the previous file stays."""
    staged = lake.stage_single(spec, batches)
    try:
        results = checks()
        failed = {name: problems for name, problems in results.items() if problems}
        if failed:
            for name, problems in results.items():
                yield check_result(name, problems)
            raise dg.Failure(description=f"{spec.qualified} not published (the previous build stays): "
                             + "; ".join(f"{n}: {p[0]}" for n, p in failed.items()))
        path = str(lake.publish([staged])[0])
    finally:
        lake.discard([staged])
    yield materialized(metadata={**metadata(), "path": path})
    for name, problems in results.items():
        yield check_result(name, problems)


def _duplicates(df, keys: list[str]) -> list[str]:
    dup = df[df.duplicated(keys, keep=False)]
    return [f"{len(dup)} rows share a {'/'.join(keys)}"] if len(dup) else []


def _spec(key: dg.AssetKey, checks: list[tuple[str, str]], deps, description: str):
    return dict(key=key, deps=deps, group_name="gold", kinds=table_kinds("duckdb"),
                automation_condition=REFRESH_PER_WINDOW, description=description,
                check_specs=[dg.AssetCheckSpec(n, asset=key, blocking=True, description=d) for n, d in checks])


@dg.asset(**_spec(TRACK_ANALYTICS, [("one_row_per_track", "Exactly one row per track id.")],
                  [*_SILVER, ENRICHED_TRACKS],
                  "One row per track: plays (entries), distinct playlists and DJs, first/last played, in/out degree, "
                  "top predecessors/successors, BPM, key, Camelot and its compatible keys, genres, label."))
def track_analytics(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake, con = _con(lakehouse, context)
    df = build_track_analytics(con, _now()).sort_values("track_id", kind="stable")
    n = max(1, len(df))
    context.log.info(f"track_analytics: {len(df)} tracks")
    yield from _built(lake, GOLD_TRACK_ANALYTICS, [df],
                      lambda: {"one_row_per_track": _duplicates(df, ["track_id"])},
                      lambda: {"row_count": len(df), "bpm_coverage_pct": 100.0 * float(df["bpm"].notna().sum()) / n,
                               "camelot_coverage_pct": 100.0 * float(df["camelot"].notna().sum()) / n,
                               "max_plays": int(df["plays"].max()) if len(df) else 0})


@dg.asset(**_spec(PLAYLIST_ANALYTICS, [("one_row_per_playlist", "Exactly one row per playlist id."),
                                       ("scores_in_range", "identified_share and harmonic_flow_score within [0, 1].")],
                  [*_SILVER, ENRICHED_TRACKS],
                  "One row per playlist: entries, identified share, BPM curve (start/end/min/max/mean), key changes, "
                  "harmonic-flow score (share of transitions between compatible keys), genres, labels."))
def playlist_analytics(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake, con = _con(lakehouse, context)
    df = build_playlist_analytics(con, _now())
    flow = df["harmonic_flow_score"].dropna()
    bad = df[(df["identified_share"] < 0) | (df["identified_share"] > 1)
             | (df["harmonic_flow_score"].notna() & ((df["harmonic_flow_score"] < 0) | (df["harmonic_flow_score"] > 1)))]
    yield from _built(lake, GOLD_PLAYLIST_ANALYTICS, [df],
                      lambda: {"one_row_per_playlist": _duplicates(df, ["playlist_id"]),
                               "scores_in_range": [f"{len(bad)} playlists with a share outside [0, 1]"] if len(bad) else []},
                      lambda: {"row_count": len(df),
                               "mean_identified_share": float(df["identified_share"].mean()) if len(df) else 0.0,
                               "mean_harmonic_flow_score": float(flow.mean()) if len(flow) else dg.MetadataValue.null(),
                               "playlists_with_flow_score": len(flow)})


@dg.asset(**_spec(NEXT_TRACKS, [("no_self_recommendation", "No track is recommended after itself."),
                                ("ranks_and_scores_valid", "rank 1..N per track without gaps or repeats; score in [0, 1]; "
                                 "played tier above the neighbourhood tier.")],
                  [SILVER_KEYS["transitions"], SILVER_KEYS["playlists"], ENRICHED_TRACKS],
                  "What DJs play after each track: tier 'played' (real transitions, scored by distinct playlists, "
                  "distinct DJs, recency, key compatibility and BPM distance) then tier 'neighbourhood' (two hops away, "
                  "compatible, never played after it). Sorted by from_track_id for fast lookups (songnodes next)."))
def next_tracks(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake, con = _con(lakehouse, context)
    stats = {"rows": 0, "self": 0, "bad_score": 0, "tracks": 0, "neighbourhood": 0, "with_key": 0, "with_bpm": 0}
    rank_problems: list[str] = []
    last = {"track": None, "rank": 0, "tier": "played"}

    def batches():
        for df in iter_next_tracks(con, _now()):
            stats["rows"] += len(df)
            stats["self"] += int((df["from_track_id"] == df["to_track_id"]).sum())
            stats["bad_score"] += int(((df["score"] < 0) | (df["score"] > 1)).sum())
            stats["neighbourhood"] += int((df["tier"] == "neighbourhood").sum())
            stats["with_key"] += int(df["key_relation"].ne("unknown").sum())
            stats["with_bpm"] += int(df["bpm_delta"].notna().sum())
            for frm, rank, tier in zip(df["from_track_id"], df["rank"], df["tier"]):  # streamed, O(rows)
                if frm != last["track"]:
                    stats["tracks"] += 1
                    last.update(track=frm, rank=0, tier="played")
                if rank != last["rank"] + 1 and len(rank_problems) < 5:
                    rank_problems.append(f"{frm}: rank {rank} after {last['rank']}")
                if tier == "played" and last["tier"] == "neighbourhood" and len(rank_problems) < 5:
                    rank_problems.append(f"{frm}: a played row ranks below a neighbourhood row")
                last.update(rank=int(rank), tier=tier)
            yield df

    def checks():
        return {"no_self_recommendation": [f"{stats['self']} rows recommend a track after itself"] if stats["self"] else [],
                "ranks_and_scores_valid": rank_problems + (
                    [f"{stats['bad_score']} scores outside [0, 1]"] if stats["bad_score"] else [])}

    def metadata():
        n = max(1, stats["rows"])
        context.log.info(f"next_tracks: {stats['rows']} recommendations for {stats['tracks']} tracks")
        return {"row_count": stats["rows"], "tracks_with_recommendations": stats["tracks"],
                "neighbourhood_rows": stats["neighbourhood"], "key_known_pct": 100.0 * stats["with_key"] / n,
                "bpm_known_pct": 100.0 * stats["with_bpm"] / n}

    yield from _built(lake, GOLD_NEXT_TRACKS, batches(), checks, metadata)


_ARTIST_DEPS = [SILVER_KEYS["tracks"], SILVER_KEYS["playlist_tracks"], *ENRICHMENT_KEYS.values()]


@dg.asset(**_spec(ARTISTS, [("one_row_per_artist", "Exactly one row per artist id.")], _ARTIST_DEPS,
                  "Canonical artists: one row per artist with a stable id, the name variants merged (case, accents, "
                  "'The', '&'/'and', punctuation), roles, external ids per source, the merge rules and evidence; two "
                  "artists whose names fold alike but whose sources give different ids stay apart."))
def artists(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake, con = _con(lakehouse, context)
    df = build_artists(con, _now())
    yield from _built(lake, GOLD_ARTISTS, [df], lambda: {"one_row_per_artist": _duplicates(df, ["artist_id"])},
                      lambda: {"row_count": len(df),
                               "artists_with_variants": int(df["variants"].map(len).gt(1).sum()) if len(df) else 0,
                               "with_musicbrainz_id": int(df["musicbrainz_artist_ids"].map(len).gt(0).sum())
                               if len(df) else 0})


@dg.asset(**_spec(ARTIST_ANALYTICS, [("one_row_per_artist", "Exactly one row per artist id.")],
                  [ARTISTS, *_SILVER, ENRICHED_TRACKS],
                  "One row per canonical artist: tracks, plays, distinct playlists and DJs, collaborators, labels, "
                  "active years."))
def artist_analytics(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake, con = _con(lakehouse, context)
    df = build_artist_analytics(con, _now(), lake.read(GOLD_ARTISTS))
    yield from _built(lake, GOLD_ARTIST_ANALYTICS, [df],
                      lambda: {"one_row_per_artist": _duplicates(df, ["artist_id"])}, lambda: {"row_count": len(df)})


@dg.asset(**_spec(ARTIST_COLLABORATIONS, [("one_row_per_pair", "One row per unordered artist pair, never an "
                                                                "artist with itself.")],
                  [ARTISTS, SILVER_KEYS["tracks"], SILVER_KEYS["playlist_tracks"]],
                  "Co-credited artist pairs (primary, featured, remixer credits on one track) with track and play "
                  "counts: the artist collaboration network."))
def artist_collaborations(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake, con = _con(lakehouse, context)
    df = build_artist_collaborations(con, _now(), lake.read(GOLD_ARTISTS))
    problems = _duplicates(df, ["artist_id_a", "artist_id_b"])
    if len(df) and (df["artist_id_a"] >= df["artist_id_b"]).any():
        problems.append(f"{int((df['artist_id_a'] >= df['artist_id_b']).sum())} pairs not ordered a < b (or a == b)")
    yield from _built(lake, GOLD_ARTIST_COLLABORATIONS, [df],
                      lambda: {"one_row_per_pair": problems}, lambda: {"row_count": len(df)})


analytics_assets = [track_analytics, playlist_analytics, next_tracks, artists, artist_analytics, artist_collaborations]
