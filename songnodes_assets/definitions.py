"""Dagster entry point (workspace.yaml loads ``defs``): assets, checks, jobs and resources.

Resources are built from ``SONGNODES_*`` environment variables when this module is loaded.
"""

import dagster as dg

from .defs.bronze.raw_scrape_data import raw_scrape_data
from .defs.jobs import main_job
from .defs.resources import resources_from_settings
from .defs.silver.tables import silver_tables
from .settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_scrape_data, silver_tables],
        jobs=[main_job],
        resources=resources_from_settings(settings or Settings.from_env()),
    )


defs = build_definitions()
