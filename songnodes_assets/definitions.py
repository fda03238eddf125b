"""Dagster entry point (workspace.yaml loads ``defs``): assets, checks, jobs and resources.

Resources are built from ``SONGNODES_*`` environment variables when this module is loaded. On the demo's
home (``songnodes demo``) unset remotes point to a closed local port and automation is paused (demo_home).
"""
# ruff: noqa: E402

import logging

import dagster as dg

from . import demo_home

_DEMO = demo_home.apply_defaults()  # before any setting is read: a demo home never reaches live hosts
if _DEMO is not None:
    logging.getLogger("songnodes").warning(demo_home.BANNER.format(home=_DEMO["home"]))

from .defs.automation.alert_sensors import alert_sensors, ops_alerts
from .defs.automation.conditions import automation_sensor
from .defs.automation.retry import retry_failed_enrichments
from .defs.automation.schedules import daily_scrape, scrape_job, sweep_job, weekly_not_found_sweep
from .defs.bronze.legacy_import import legacy_import
from .defs.bronze.raw_scrape_data import raw_scrape_data
from .defs.enrichment.factory import enrichment_assets
from .defs.gold.analytics import analytics_assets
from .defs.gold.assets import enriched_tracks, transition_graph
from .defs.jobs import enrich_jobs, gold_job, main_job
from .defs.resources import resources_from_settings
from .defs.scale import celery_jobs, default_executor, with_queues
from .defs.silver.tables import silver_tables
from .settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        # each op tagged with its celery queue (crawl / enrich / build); only the celery executor reads it
        assets=with_queues([raw_scrape_data, legacy_import, silver_tables, *enrichment_assets, enriched_tracks,
                            transition_graph, *analytics_assets, ops_alerts]),
        jobs=[main_job, gold_job, scrape_job, sweep_job, *enrich_jobs, *celery_jobs],
        executor=default_executor(),  # SONGNODES_EXECUTOR (unset: Dagster's default)
        sensors=[*alert_sensors, retry_failed_enrichments, automation_sensor],
        schedules=[daily_scrape, weekly_not_found_sweep],
        resources=resources_from_settings(settings or Settings.from_env()),
    )


defs = build_definitions()
