"""Silver: playlists, playlist_tracks, tracks (the "enhanced tracks") and transitions, built from one
bronze partition by the pure parser. Re-materialising a partition replaces its files (never appends),
so rows are identical on re-runs and transition weights never inflate. One bad line or page is quarantined
(``silver.problems``) and the day flows on; blocking checks fail the step (after writing, so the evidence is
inspectable) only on systemic breakage, naming the offending URLs and lines."""


import dagster as dg

from ...lib import contracts
from ...lib.parsing.tracklist import PARSER_VERSION
from ...lib.schemas import (SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_PROBLEMS, SILVER_TRACKS,
                            SILVER_TRANSITIONS)
from ...lib.silver_build import stream_silver
from ..automation.conditions import SILVER_FOLLOW, SILVER_FRESHNESS
from ..bronze.legacy_import import LEGACY_IMPORT
from ..bronze.raw_scrape_data import RAW_SCRAPE_DATA
from ..metadata import checked, materialized, table_kinds
from ..partitions import daily_partitions
from ..resources import LakehouseResource, ParserResource

SPECS = {
    "playlists": SILVER_PLAYLISTS, "playlist_tracks": SILVER_PLAYLIST_TRACKS,
    "tracks": SILVER_TRACKS, "transitions": SILVER_TRANSITIONS, "problems": SILVER_PROBLEMS,
}
KEYS = {name: dg.AssetKey(["silver", name]) for name in SPECS}
DESCRIPTIONS = {
    "playlists": "One row per mix (page identity: the same mix under several URLs is one playlist, newest fetch "
                 "wins): title, date, DJs, show/venue, categories/genres, entry counts.",
    "playlist_tracks": "Every tracklist entry (placeholders, gaps, unparsed and quarantined lines included) with "
                       "its outcome; unique per (playlist_id, line_no, component_index).",
    "tracks": "Enhanced tracks: one row per identified track_id first seen in the partition.",
    "transitions": "DJ transitions: consecutive identified entries of one section of one playlist (per playlist; "
                   "weight = distinct playlists, see the silver.transitions view); never A -> A.",
    "problems": "Quarantine: one row per bad line or bad page (redirect, parse error, line cap, empty tracklist, "
                "label in title, cue in artist) with its reason. Quarantined lines get no track id and no edge.",
}

CHECKS = [
    dg.AssetCheckSpec("bad_pages_within_threshold", asset=KEYS["playlists"], blocking=True,
                      description="Share of pages quarantined or with an empty tracklist section stays under "
                                  "SONGNODES_MAX_BAD_PAGE_SHARE (default 0.25): one bad page is quarantined, a "
                                  "parser that breaks every page fails the day."),
    dg.AssetCheckSpec("one_row_per_playlist", asset=KEYS["playlists"], blocking=True,
                      description="No playlist id twice in a partition (the same mix under two URLs is one playlist)."),
    dg.AssetCheckSpec("entries_vs_previous_build", asset=KEYS["playlists"], blocking=True,
                      description="A rebuild of a partition keeps at least 80 % of the entries of the build it "
                                  "replaces (a changed parser that silently loses lines fails)."),
    dg.AssetCheckSpec("bad_lines_within_threshold", asset=KEYS["playlist_tracks"], blocking=True,
                      description="Share of quarantined lines among credited lines stays under "
                                  "SONGNODES_MAX_BAD_LINE_SHARE (default 0.05)."),
    dg.AssetCheckSpec("unique_entry_keys", asset=KEYS["playlist_tracks"], blocking=True,
                      description="(playlist_id, line_no, component_index) is unique."),
    dg.AssetCheckSpec("no_cue_or_position_in_artists", asset=KEYS["playlist_tracks"], blocking=True,
                      description='No kept artist/featured/remixer starts with a cue or position marker ("[7?] W"); '
                                  "such lines are quarantined."),
    dg.AssetCheckSpec("no_label_in_titles", asset=KEYS["playlist_tracks"], blocking=True,
                      description="No kept title ends with [Label] text; such lines are quarantined."),
    dg.AssetCheckSpec("no_self_loops", asset=KEYS["transitions"], blocking=True,
                      description="No transition from a track to itself (repeated lines are flagged instead)."),
] + [
    dg.AssetCheckSpec("known_columns_only", asset=KEYS[name], blocking=True,
                      description="Stored parquet columns equal the contract (an unknown parser field fails).")
    for name in SPECS
]


def _check(context, name: str, key: dg.AssetKey, problems: list[str], metadata: dict | None = None) -> dg.AssetCheckResult:
    for p in problems[:50]:
        context.log.error(f"check {name} on {key.to_user_string()}: {p}")
    return checked(
        check_name=name, asset_key=key, passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
        if problems else "ok",
        metadata={"violations": len(problems), "examples": dg.MetadataValue.json(problems[:20]), **(metadata or {})},
    )


def _systemic_problems(day, thresholds, previous_entries: int | None) -> dict[str, list[str]]:
    """The checks that tell systemic breakage from one bad input, by check name (empty list: passed)."""
    stats, pl = day.stats, day.playlists
    return {
        "bad_pages_within_threshold": contracts.share_over(stats["bad_pages"], stats["pages"],
                                                           thresholds.max_bad_page_share, "pages"),
        "bad_lines_within_threshold": contracts.share_over(stats["quarantined_lines"], stats["credited_lines"],
                                                           thresholds.max_bad_line_share, "credited lines"),
        "entries_vs_previous_build": contracts.entries_drop(previous_entries,
                                                            int(pl["n_entries"].sum()) if len(pl) else 0),
    }


def _previous_entries(lake, partition: str) -> int | None:
    try:
        prev = lake.read(SILVER_PLAYLISTS, partition, columns=["n_entries"])
    except Exception:  # noqa: BLE001 - an unreadable previous build is not a reason to keep the day from rebuilding
        return None
    return int(prev["n_entries"].sum()) if len(prev) else None


@dg.multi_asset(
    specs=[dg.AssetSpec(KEYS[name], deps=[RAW_SCRAPE_DATA, LEGACY_IMPORT], description=DESCRIPTIONS[name],
                        kinds=table_kinds(), group_name="silver", automation_condition=SILVER_FOLLOW,
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
    thresholds = parser.thresholds
    previous_entries = _previous_entries(lake, partition)
    with stream_silver(lake, partition, protected=parser.protected, thresholds=thresholds) as day:
        context.log.info(f"silver {partition}: {day.stats['pages']} pages parsed, {day.stats['lines']} entries; "
                         "writing the tables")
        yield from _publish(context, lake, partition, day, thresholds, previous_entries)


def _publish(context, lake, partition: str, day, thresholds, previous_entries: int | None):
    stats = day.stats
    if not stats["pages"] and not len(day.playlists):
        context.log.warning(f"bronze has no pages for {partition}: silver for this date will be empty")
    systemic = _systemic_problems(day, thresholds, previous_entries)
    if previous_entries is not None and any(systemic.values()):
        # A failure never replaces a good result: with a previous build on disk, a systemically broken one is
        # not published (without one, it is, so the evidence can be inspected, and the checks below fail).
        found = "; ".join(f"{name}: {p[0]}" for name, p in systemic.items() if p)
        raise dg.Failure(description=f"silver {partition} not published, the previous build is kept: {found}",
                         metadata={name: dg.MetadataValue.json(p) for name, p in systemic.items()})
    # Every table is validated batch by batch (strict contract) into a hidden file; only when all five are
    # staged are they made visible, back to back. A breach, e.g. a parser field the schema does not know, or a
    # kill while writing, publishes nothing: the previous tables stay as they were.
    batches = {"playlists": [day.playlists], "playlist_tracks": day.playlist_tracks(), "tracks": day.tracks(),
               "transitions": day.transitions(), "problems": [day.problems]}
    staged = []
    try:
        for name, frames in batches.items():
            staged.append(lake.stage(SPECS[name], frames, partition))
        with lake.commit_lock():  # Iceberg: another build's commits never interleave with these five
            lake.publish(staged)
    finally:
        lake.discard(staged)
    pl, prob, counts, lines = day.playlists, day.problems, day.row_counts, day.line_counts
    common = {"parser_version": PARSER_VERSION, "bronze_error_rows": day.pages_skipped}
    # Iceberg: the snapshot each table's commit made, so a reader can pin the four tables of this build together
    snapshots = {name: lake.last_snapshots[SPECS[name].qualified] for name in SPECS
                 if SPECS[name].qualified in lake.last_snapshots}
    snapshot_md = {name: {"iceberg_snapshot_id": str(snapshots[name])} if name in snapshots else {} for name in SPECS}
    if day.legacy_counts:  # imported old items: what each scrape type contributed, and what was skipped why
        common["legacy_items"] = dg.MetadataValue.json(day.legacy_counts)
        context.log.info(f"legacy items for {partition}: {day.legacy_counts}")
    context.log.info(f"silver {partition}: {len(pl)} playlists from {stats['pages']} pages "
                     f"({stats['duplicate_fetches']} duplicate fetches of the same mix merged), {lines['lines']} entries, "
                     f"{lines['identified']} identified, {stats['quarantined_lines']} lines quarantined, "
                     f"{stats['repeated_lines']} repeated lines flagged, {counts['tracks']} tracks, "
                     f"{counts['transitions']} transition occurrences")
    for p in prob.head(20).itertuples(index=False):
        context.log.warning(f"quarantined {p.scope} {p.url}" + (f" line {p.line_no}" if p.line_no is not None
                            and str(p.line_no) != "<NA>" else "") + f": {p.problem}: {p.detail}")
    yield materialized(asset_key=KEYS["playlists"], metadata={
        **common, **snapshot_md["playlists"], "row_count": len(pl), "pages": stats["pages"], "duplicate_fetches": stats["duplicate_fetches"],
        "bad_pages": stats["bad_pages"],
        "playlists_with_zero_entries": int((pl["n_entries"] == 0).sum()) if not pl.empty else 0,
        "entries_per_playlist": round(float(pl["n_entries"].mean()), 2) if not pl.empty else 0.0})
    # artist coverage as sql/monitoring/artist_coverage_by_day.sql (the old system's figure): top-level entries
    # that name an artist, gaps ("...") excluded
    yield materialized(asset_key=KEYS["playlist_tracks"], metadata={
        **common, **snapshot_md["playlist_tracks"], "row_count": counts["playlist_tracks"], "entries": lines["lines"], "identified": lines["identified"],
        "quarantined_lines": stats["quarantined_lines"], "repeated_lines": stats["repeated_lines"],
        "placeholder_pct": _pct(lines["placeholders"], lines["lines"]),
        "artist_coverage_pct": _pct(lines["non_gap_with_artist"], lines["non_gap"])})
    yield materialized(asset_key=KEYS["tracks"], metadata={**common, **snapshot_md["tracks"], "row_count": counts["tracks"]})
    yield materialized(asset_key=KEYS["transitions"], metadata={**common, **snapshot_md["transitions"], "row_count": counts["transitions"]})
    yield materialized(asset_key=KEYS["problems"], metadata={
        **common, **snapshot_md["problems"], "row_count": len(prob),
        "by_problem": dg.MetadataValue.json(prob["problem"].value_counts().to_dict() if len(prob) else {})})

    found = day.violations
    yield _check(context, "bad_pages_within_threshold", KEYS["playlists"], systemic["bad_pages_within_threshold"],
                 {"bad_pages": stats["bad_pages"], "pages": stats["pages"]})
    yield _check(context, "one_row_per_playlist", KEYS["playlists"], contracts.duplicate_keys(pl, ["playlist_id"]))
    yield _check(context, "entries_vs_previous_build", KEYS["playlists"], systemic["entries_vs_previous_build"],
                 {"previous_entries": previous_entries if previous_entries is not None else dg.MetadataValue.null(),
                  "entries": int(pl["n_entries"].sum()) if len(pl) else 0})
    yield _check(context, "bad_lines_within_threshold", KEYS["playlist_tracks"], systemic["bad_lines_within_threshold"],
                 {"quarantined_lines": stats["quarantined_lines"], "credited_lines": stats["credited_lines"]})
    yield _check(context, "unique_entry_keys", KEYS["playlist_tracks"], found["unique_entry_keys"])
    yield _check(context, "no_cue_or_position_in_artists", KEYS["playlist_tracks"], found["no_cue_or_position_in_artists"])
    yield _check(context, "no_label_in_titles", KEYS["playlist_tracks"], found["no_label_in_titles"])
    yield _check(context, "no_self_loops", KEYS["transitions"], found["no_self_loops"])
    for name, spec in SPECS.items():
        yield _check(context, "known_columns_only", KEYS[name], contracts.unknown_columns(spec, lake.file_columns(spec, partition)))


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def silver_as_built(context, lake, recent: int = 20):
    """``lake`` reading the silver tables as the last silver build to commit left them (Iceberg: the snapshot ids
    its materialisations recorded, one consistent set although Iceberg commits each table on its own; builds
    commit under ``commit_lock``, so no other build's tables sit between them, and a build committing meanwhile
    is not half-seen). The folder layout, or no recorded build: ``lake`` itself."""
    if lake.table_format != "iceberg":
        return lake
    builds: dict[str, dict[str, int]] = {}  # run id / partition -> table -> snapshot id
    for name, key in KEYS.items():
        for record in context.instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key),
                                                              limit=recent).records:
            mat = record.asset_materialization
            if mat is not None and "iceberg_snapshot_id" in (mat.metadata or {}):
                builds.setdefault(f"{record.run_id}/{mat.partition}", {}).setdefault(
                    SPECS[name].qualified, int(mat.metadata["iceberg_snapshot_id"].value))
    complete = {b: pins for b, pins in builds.items() if len(pins) == len(KEYS)}
    if not complete:  # builds from before the snapshot ids were recorded: the current snapshots
        return lake
    last_table = SPECS[list(SPECS)[-1]]  # committed last by every build: its commit order is the builds' order
    history = lake.commit_times(last_table)
    build, pins = max(complete.items(), key=lambda kv: history.get(kv[1][last_table.qualified], -1))
    context.log.info(f"reading silver as built by {build}: snapshots {pins}")
    return lake.pinned(pins)
