"""Whole-history gold (transition graph, analytics) is rebuilt at most once per cron window after an upstream
change (SONGNODES_ANALYTICS_CRON, hourly by default), not on every upstream landing: declarative automation
evaluated at chosen times on a real instance."""

import datetime as dt

import dagster as dg

from songnodes_assets.definitions import build_definitions
from songnodes_assets.settings import Settings

GRAPH = dg.AssetKey(["gold", "transition_graph"])
NEXT = dg.AssetKey(["gold", "next_tracks"])
UPSTREAM = dg.AssetKey(["silver", "transitions"])


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2024, 5, 2, hour, minute, tzinfo=dt.timezone.utc)


def test_rebuild_once_per_window_after_upstream_changes():
    defs = build_definitions(Settings.from_env())
    with dg.DagsterInstance.ephemeral() as instance:
        selection = dg.AssetSelection.assets(GRAPH, NEXT)

        def tick(when, cursor):
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection,
                                                       evaluation_time=when, cursor=cursor)
            return result, {k for k in (GRAPH, NEXT) if result.get_num_requested(k)}

        def land(partition):
            instance.report_runless_asset_event(dg.AssetMaterialization(UPSTREAM, partition=partition))

        first, requested = tick(_at(10, 10), None)
        assert requested == set()
        land("2024-05-01")
        land("2024-05-02")  # two partitions land within the window
        second, requested = tick(_at(10, 40), first.cursor)
        assert requested == set()  # no window boundary since: wait
        third, requested = tick(_at(11, 5), second.cursor)
        assert requested == {GRAPH, NEXT}  # one rebuild for both landings
        third, requested = tick(_at(11, 6), third.cursor)  # the daemon's next tick (it ticks every 30 s)
        assert requested == set()
        land("2024-05-02")
        fourth, requested = tick(_at(11, 30), third.cursor)
        assert requested == set()  # already rebuilt in this window
        fifth, requested = tick(_at(12, 1), fourth.cursor)
        assert requested == {GRAPH, NEXT}
        sixth, requested = tick(_at(13, 2), fifth.cursor)
        assert requested == set()  # a window passed but nothing changed upstream
