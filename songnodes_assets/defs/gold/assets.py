"""Gold: enriched tracks (one row per track, per-field provenance) and the weighted transition graph.

enriched_tracks refreshes by declarative automation when any upstream partition lands (a repaired source
partition included) and never waits for a source that is down: gold is built from whatever source partitions
exist. The transition graph (all history, three exports) is rebuilt at most once per SONGNODES_ANALYTICS_CRON
window (default hourly) after an upstream change, not on every landing."""

import dagster as dg

from ...lib.catalog import connect
from ...lib.enrich.selection import tracks_first_seen
from ...lib import gold_checks
from ...lib.gold import merge, priority_from_env, write_graph
from ...lib.schemas import ENRICHMENT, GOLD_ENRICHED, GOLD_TRANSITION_GRAPH
from ..automation.conditions import GOLD_FRESHNESS, REFRESH_ON_UPSTREAM, REFRESH_PER_WINDOW
from ..enrichment.factory import ENRICHMENT_KEYS
from ..metadata import checked, materialized, table_kinds
from ..partitions import daily_partitions
from ..resources import LakehouseResource
from ..silver.tables import KEYS as SILVER_KEYS, silver_as_built

ENRICHED_TRACKS = dg.AssetKey(["gold", "enriched_tracks"])
TRANSITION_GRAPH = dg.AssetKey(["gold", "transition_graph"])

@dg.asset(
    key=ENRICHED_TRACKS, deps=[SILVER_KEYS["tracks"], *ENRICHMENT_KEYS.values()], partitions_def=daily_partitions,
    group_name="gold", kinds=table_kinds(), automation_condition=REFRESH_ON_UPSTREAM, freshness_policy=GOLD_FRESHNESS,
    check_specs=[dg.AssetCheckSpec("one_row_per_track", asset=ENRICHED_TRACKS, blocking=True,
                                   description="Exactly one gold row per track first seen on the date, no more, no less.")],
    description=("One row per track first seen on the date: each field (ISRC, BPM, key/Camelot, genres, label, "
                 "catalog number, release date, duration, source ids) with its source and match score, "
                 "sources_used, status completed (>= 2 sources matched) / partial (1) / failed (0)."),
)
def enriched_tracks(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake = lakehouse.get()
    partition = context.partition_key
    tracks = tracks_first_seen(lake, partition, log=context.log.warning)
    sources = {name: (lake.read(spec, partition) if lake.files(spec, partition) else None)
               for name, spec in ENRICHMENT.items()}
    missing = sorted(n for n, df in sources.items() if df is None)
    if missing:
        context.log.warning(f"gold {partition}: no partition yet from {missing}; building from the others")
    gold = merge(tracks, sources, partition, priority_from_env())
    path = lake.write(GOLD_ENRICHED, gold, partition)
    n = max(1, len(gold))
    coverage = {f"{f}_coverage_pct": round(100.0 * float(gold[f].notna().sum()) / n, 1)
                for f in ("isrc", "bpm", "camelot", "label", "release_date")}
    coverage["genres_coverage_pct"] = round(100.0 * float(gold["genres"].map(len).gt(0).sum()) / n, 1)
    status = gold["status"].value_counts().to_dict()
    yield materialized(metadata={
        "row_count": len(gold), "completed": int(status.get("completed", 0)), "partial": int(status.get("partial", 0)),
        "failed": int(status.get("failed", 0)), "sources_missing": dg.MetadataValue.json(missing), **coverage,
        "path": str(path)})
    problems = gold_checks.duplicate_track_ids(gold) + gold_checks.missing_tracks(tracks["track_id"], gold)
    yield check_result("one_row_per_track", problems)


def check_result(name: str, problems: list[str], severity=dg.AssetCheckSeverity.ERROR, **metadata) -> dg.AssetCheckResult:
    """A gold asset's check: passed when there are no problems; the first five named in the description."""
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return checked(check_name=name, passed=not problems, severity=severity,
                   description="; ".join(problems[:5]) + more or "ok",
                   metadata={"violations": len(problems), **metadata})


@dg.asset(
    key=TRANSITION_GRAPH, deps=[SILVER_KEYS["transitions"], ENRICHED_TRACKS], group_name="gold",
    kinds=table_kinds("csv"), automation_condition=REFRESH_PER_WINDOW, freshness_policy=GOLD_FRESHNESS,
    check_specs=[
        dg.AssetCheckSpec("exports_consistent", asset=TRANSITION_GRAPH, blocking=True,
                          description="parquet, CSV and GraphML exports hold the same nodes and edges."),
        dg.AssetCheckSpec("endpoints_are_nodes", asset=TRANSITION_GRAPH, blocking=True,
                          description="Every edge endpoint is a node of the graph."),
        dg.AssetCheckSpec("endpoints_enriched", asset=TRANSITION_GRAPH,
                          description="Share of nodes without a gold row (their date's gold not built yet); warning."),
    ],
    description=("All DJ transitions (weight = distinct playlists) with both tracks' enriched attributes, "
                 "exported as parquet, CSV and GraphML under <lakehouse>/gold/transition_graph/."),
)
def transition_graph(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    lake = lakehouse.get()
    con = connect(silver_as_built(context, lake))
    edges = con.execute("""
        SELECT t.from_track_id, t.to_track_id, t.weight::BIGINT AS weight, t.first_seen_date, t.last_seen_date,
               fa.artists AS from_artists, fa.title AS from_title, fg.bpm AS from_bpm, fg.camelot AS from_camelot,
               coalesce(fg.genres, []::VARCHAR[]) AS from_genres,
               ta.artists AS to_artists, ta.title AS to_title, tg.bpm AS to_bpm, tg.camelot AS to_camelot,
               coalesce(tg.genres, []::VARCHAR[]) AS to_genres
        FROM silver.transitions t
        LEFT JOIN silver.tracks fa ON fa.track_id = t.from_track_id
        LEFT JOIN silver.tracks ta ON ta.track_id = t.to_track_id
        LEFT JOIN gold.enriched_tracks fg ON fg.track_id = t.from_track_id
        LEFT JOIN gold.enriched_tracks tg ON tg.track_id = t.to_track_id
        ORDER BY weight DESC, from_track_id, to_track_id""").df()
    nodes = con.execute("""
        SELECT s.track_id, s.artists, s.title, s.remixers, g.bpm, g.musical_key, g.camelot, g.genres, g.label,
               g.isrc, g.status AS enrichment_status
        FROM silver.tracks s LEFT JOIN gold.enriched_tracks g USING (track_id)
        WHERE s.track_id IN (SELECT from_track_id FROM silver.transitions UNION SELECT to_track_id FROM silver.transitions)
        ORDER BY s.track_id""").df()
    edges = GOLD_TRANSITION_GRAPH.conform(edges)
    GOLD_TRANSITION_GRAPH.validate(edges)
    out_dir = lake.table_dir(GOLD_TRANSITION_GRAPH)
    committed = None
    if lake.table_format == "iceberg":  # the table in the catalog first; the exports stay files on this host
        committed = lake.write_single(GOLD_TRANSITION_GRAPH, [edges])
    paths = write_graph(nodes, edges, out_dir)
    if committed:
        paths["iceberg"] = committed
    unenriched = int(nodes["enrichment_status"].isna().sum()) if len(nodes) else 0
    yield materialized(metadata={
        "edges": len(edges), "nodes": len(nodes), "max_weight": int(edges["weight"].max()) if len(edges) else 0,
        "nodes_without_gold_row": unenriched, "files": dg.MetadataValue.json(paths)})
    yield check_result("exports_consistent", gold_checks.export_problems(out_dir, len(nodes), len(edges)),
                  **{k: v for k, v in gold_checks.export_counts(out_dir).items()})
    yield check_result("endpoints_are_nodes", gold_checks.dangling_endpoints(nodes, edges))
    share = unenriched / len(nodes) if len(nodes) else 0.0
    yield check_result("endpoints_enriched", [f"{unenriched} of {len(nodes)} nodes have no gold row"] if share > 0.1 else [],
                  severity=dg.AssetCheckSeverity.WARN, share_without_gold_row=round(share, 4))
