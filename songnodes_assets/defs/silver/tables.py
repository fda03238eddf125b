"""Silver: playlists, playlist_tracks, tracks (the "enhanced tracks") and transitions, built from one
bronze partition by the pure parser. Re-materialising a partition replaces its files (never appends),
so rows are identical on re-runs and transition weights never inflate. Blocking checks fail the step
(after writing, so the evidence is inspectable) and name the offending URL and line."""


import dagster as dg

from ...lib import contracts
from ...lib.parsing.tracklist import PARSER_VERSION
from ...lib.schemas import (BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS,
                            SILVER_TRANSITIONS)
from ...lib.silver_build import build_silver
from ..automation.conditions import SILVER_FOLLOW, SILVER_FRESHNESS
from ..bronze.legacy_import import LEGACY_IMPORT
from ..bronze.raw_scrape_data import RAW_SCRAPE_DATA
from ..partitions import daily_partitions
from ..resources import LakehouseResource, ParserResource

SPECS = {
    "playlists": SILVER_PLAYLISTS, "playlist_tracks": SILVER_PLAYLIST_TRACKS,
    "tracks": SILVER_TRACKS, "transitions": SILVER_TRANSITIONS,
}
KEYS = {name: dg.AssetKey(["silver", name]) for name in SPECS}
DESCRIPTIONS = {
    "playlists": "One row per mix page: title, date, DJs, show/venue, categories/genres, entry counts.",
    "playlist_tracks": "Every tracklist entry (placeholders, gaps and unparsed lines included) with its outcome.",
    "tracks": "Enhanced tracks: one row per identified track_id first seen in the partition.",
    "transitions": "DJ transitions: consecutive identified entries of one section of one playlist (per playlist; "
                   "weight = distinct playlists, see the silver.transitions view).",
}

CHECKS = [
    dg.AssetCheckSpec("tracklist_section_has_entries", asset=KEYS["playlists"], blocking=True,
                      description="A page with a tracklist section must yield at least one entry."),
    dg.AssetCheckSpec("no_cue_or_position_in_artists", asset=KEYS["playlist_tracks"], blocking=True,
                      description='No artist/featured/remixer starts with a cue or position marker ("[7?] W").'),
    dg.AssetCheckSpec("no_label_in_titles", asset=KEYS["playlist_tracks"], blocking=True,
                      description="No title ends with [Label] text."),
] + [
    dg.AssetCheckSpec("known_columns_only", asset=KEYS[name], blocking=True,
                      description="Stored parquet columns equal the contract (an unknown parser field fails).")
    for name in SPECS
]


def _check(context, name: str, key: dg.AssetKey, problems: list[str]) -> dg.AssetCheckResult:
    for p in problems[:50]:
        context.log.error(f"check {name} on {key.to_user_string()}: {p}")
    return dg.AssetCheckResult(
        check_name=name, asset_key=key, passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
        if problems else "ok",
        metadata={"violations": len(problems), "examples": dg.MetadataValue.json(problems[:20])},
    )


@dg.multi_asset(
    specs=[dg.AssetSpec(KEYS[name], deps=[RAW_SCRAPE_DATA, LEGACY_IMPORT], description=DESCRIPTIONS[name],
                        kinds={"parquet"}, group_name="silver", automation_condition=SILVER_FOLLOW,
                        freshness_policy=SILVER_FRESHNESS)
           for name in SPECS],
    check_specs=CHECKS,
    partitions_def=daily_partitions,
    can_subset=False,
    name="silver_tables",
)
def silver_tables(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, parser: ParserResource):
    lake = lakehouse.get()
    partition = context.partition_key
    bronze = lake.read(BRONZE_RAW, partition)
    if bronze.empty:
        context.log.warning(f"bronze has no rows for {partition}: silver for this date will be empty")
    tables = build_silver(bronze, partition, protected=parser.protected)
    frames = {"playlists": tables.playlists, "playlist_tracks": tables.playlist_tracks,
              "tracks": tables.tracks, "transitions": tables.transitions}
    # Validate all four first (strict contract): a breach, e.g. a parser field the schema does not know,
    # fails the step and writes nothing at all.
    validated = {name: lake.to_arrow(SPECS[name], df) for name, df in frames.items()}
    # All four are written to hidden files first, then made visible back to back: a kill while writing
    # leaves the previous four tables as they were, never new playlists beside old transitions.
    staged = []
    try:
        for name, table in validated.items():
            staged.append(lake.stage(SPECS[name], [table], partition))
        lake.publish(staged)
    finally:
        lake.discard(staged)
    pl, pt = tables.playlists, tables.playlist_tracks
    top = pt[pt["component_of"].isna()] if not pt.empty else pt
    n_identified = int(top["is_identified"].sum()) if not top.empty else 0
    with_artist = int(top["artists"].map(len).gt(0).sum()) if not top.empty else 0
    common = {"parser_version": PARSER_VERSION, "bronze_rows": len(bronze), "bronze_error_rows": tables.pages_skipped}
    if tables.legacy_counts:  # imported old items: what each scrape type contributed, and what was skipped why
        common["legacy_items"] = dg.MetadataValue.json(tables.legacy_counts)
        context.log.info(f"legacy items for {partition}: {tables.legacy_counts}")
    context.log.info(f"silver {partition}: {len(pl)} playlists, {len(top)} entries, {n_identified} identified, "
                     f"{len(tables.tracks)} tracks, {len(tables.transitions)} transitions")
    yield dg.MaterializeResult(asset_key=KEYS["playlists"], metadata={
        **common, "row_count": len(pl),
        "playlists_with_zero_entries": int((pl["n_entries"] == 0).sum()) if not pl.empty else 0,
        "entries_per_playlist": float(pl["n_entries"].mean()) if not pl.empty else 0.0})
    yield dg.MaterializeResult(asset_key=KEYS["playlist_tracks"], metadata={
        **common, "row_count": len(pt), "entries": len(top), "identified": n_identified,
        "placeholder_pct": round(100.0 * float((top["entry_type"] == "placeholder").mean()), 2) if len(top) else 0.0,
        "artist_coverage_pct": round(100.0 * with_artist / len(top), 2) if len(top) else 0.0})
    yield dg.MaterializeResult(asset_key=KEYS["tracks"], metadata={**common, "row_count": len(tables.tracks)})
    yield dg.MaterializeResult(asset_key=KEYS["transitions"], metadata={**common, "row_count": len(tables.transitions)})

    yield _check(context, "tracklist_section_has_entries", KEYS["playlists"], contracts.empty_tracklists(pl))
    yield _check(context, "no_cue_or_position_in_artists", KEYS["playlist_tracks"], contracts.markers_in_artists(pt))
    yield _check(context, "no_label_in_titles", KEYS["playlist_tracks"], contracts.labels_in_titles(pt))
    for name, spec in SPECS.items():
        yield _check(context, "known_columns_only", KEYS[name], contracts.unknown_columns(spec, lake.file_columns(spec, partition)))
