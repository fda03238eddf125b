"""The main job: bronze -> silver for one scrape date."""

import dagster as dg


MAIN_JOB_NAME = "songnodes_main"

main_job = dg.define_asset_job(
    MAIN_JOB_NAME,
    selection=dg.AssetSelection.groups("bronze", "silver"),
    description="Scrape MixesDB pages into bronze, then parse them into the silver tables (one scrape date).",
    executor_def=dg.in_process_executor,
)
