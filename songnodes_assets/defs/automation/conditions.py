"""Declarative automation and freshness shared by the layers."""

import datetime as dt
import os

import dagster as dg

from ...demo_home import demo_home

# On the demo's home nothing starts by itself (the demo's sample site and fake APIs are gone): see demo_home.
ON_DEMO_HOME = demo_home() is not None
DEFAULT_RUNNING = dg.DefaultSensorStatus.STOPPED if ON_DEMO_HOME else dg.DefaultSensorStatus.RUNNING

_UPDATED = dg.AutomationCondition.any_deps_updated().since_last_handled()
_QUIET = ~dg.AutomationCondition.any_deps_in_progress() & ~dg.AutomationCondition.in_progress()

# Silver and enrichment: run when an upstream partition lands and every upstream partition exists.
FOLLOW_UPSTREAM = (_UPDATED & ~dg.AutomationCondition.any_deps_missing() & _QUIET).with_label(
    "follow upstream")

# Silver: like FOLLOW_UPSTREAM, but the optional import of the old system never holds it back.
SILVER_FOLLOW = (_UPDATED & ~dg.AutomationCondition.any_deps_missing().ignore(
    dg.AssetSelection.assets(dg.AssetKey(["bronze", "legacy_import"]))) & _QUIET).with_label("follow bronze")

# Gold: run when any upstream partition lands, even if a source partition is missing (a source that is
# down must not hold gold back; gold is rebuilt when the repaired partition lands).
REFRESH_ON_UPSTREAM = (_UPDATED & _QUIET).with_label("refresh when an upstream partition lands")

# Whole-history gold (the transition graph export, the analytics): at most one rebuild per cron window, and only
# when some upstream changed since the last one (a day of silver + 6 sources + gold is one rebuild, not eight).
ANALYTICS_CRON = os.environ.get("SONGNODES_ANALYTICS_CRON", "").strip() or "0 * * * *"
REFRESH_PER_WINDOW = (dg.AutomationCondition.cron_tick_passed(ANALYTICS_CRON, "UTC").since_last_handled()
                      & _UPDATED & _QUIET).with_label(f"rebuild once per {ANALYTICS_CRON} window after upstream changes")

# Silver should be no older than a day and a bit (the scrape is daily); gold a little more.
SILVER_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=36), warn_window=dt.timedelta(hours=26))
GOLD_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=48), warn_window=dt.timedelta(hours=30))


# Dagster's default automation sensor starts STOPPED; this one runs by default so silver, enrichment and
# gold really follow their upstreams (in `dagster dev`, and with dagster-daemon in production).
automation_sensor = dg.AutomationConditionSensorDefinition(
    "songnodes_automation", target=dg.AssetSelection.all(), default_status=DEFAULT_RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates the declarative automation conditions of silver, enrichment and gold."
                + (" PAUSED on this demo home (start it only after pointing the sources at real hosts)."
                   if ON_DEMO_HOME else ""))
