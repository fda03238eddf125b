"""Jobs: the main job (bronze -> silver -> every enrichment source, one scrape date) and the gold job.

Gold is a separate run on purpose: in one run a failed source would make Dagster skip gold, whereas gold
must be built from the sources that worked. In production declarative automation runs it; the demo and
tests launch it right after the main job."""

import dagster as dg

MAIN_JOB_NAME = "songnodes_main"
GOLD_JOB_NAME = "songnodes_gold"

main_job = dg.define_asset_job(
    MAIN_JOB_NAME,
    selection=dg.AssetSelection.groups("bronze", "silver", "enrichment")
    - dg.AssetSelection.assets(dg.AssetKey(["bronze", "legacy_import"])),
    description="Scrape MixesDB into bronze, parse into silver, enrich the day's new tracks from every source.",
    executor_def=dg.in_process_executor,
)

gold_job = dg.define_asset_job(
    GOLD_JOB_NAME,
    selection=dg.AssetSelection.groups("gold"),
    description=("Merge the enrichment sources into gold.enriched_tracks, rebuild the transition graph and the "
                 "analytics (tracks, playlists, next tracks, canonical artists, collaborations)."),
    executor_def=dg.in_process_executor,
)


# One job per enrichment source, so a range of its partitions can be backfilled from the CLI:
#   dagster job backfill -w workspace.yaml -j enrich_spotify --partitions 2026-11-20,2026-11-21
enrich_jobs = [
    dg.define_asset_job(f"enrich_{name}", selection=dg.AssetSelection.assets(dg.AssetKey(["enrichment", name])),
                        description=f"Enrich the tracks first seen on a date from {name} (one partition per run).")
    for name in ("musicbrainz", "spotify", "lastfm", "discogs", "getsongbpm", "acousticbrainz")
]
