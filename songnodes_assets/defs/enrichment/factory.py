"""One partitioned asset per enrichment source, from one factory. Each source has its own pool
(limit 1: backfills never exceed its quota), its own rate limiter, retries, circuit breaker and cache,
so one source down never blocks another."""

import dagster as dg

from ...lib.enrich.keep_good import keep_better
from ...lib.enrich.runner import enrich, queries_from_tracks, skip_all
from ...lib.enrich.selection import tracks_first_seen
from ...lib.enrich.sources import SOURCES
from ...lib.enrich.sources.base import load_config
from ...lib.schemas import ENRICHMENT
from ..automation.conditions import FOLLOW_UPSTREAM
from ..metadata import checked, materialized, table_kinds
from ..partitions import daily_partitions
from ..resources import EnrichmentResource, LakehouseResource
from ..silver.tables import KEYS as SILVER_KEYS

ENRICHMENT_KEYS = {name: dg.AssetKey(["enrichment", name]) for name in SOURCES}


def _metadata(summary, client=None, extra=None) -> dict:
    md = {"tracks": summary.tracks, "matched": summary.matched, "not_found": summary.not_found,
          "failed": summary.failed, "skipped": summary.skipped, "retriable_failures": summary.retriable_failures,
          # a percentage: a share of 1.0 would show as "1" in the UI, like a count
          "success_pct": 100.0 * summary.success_rate if summary.success_rate is not None else dg.MetadataValue.null()}
    if client is not None:
        calls, hits = client.stats["calls"], client.stats["cache_hits"]
        md.update({"api_calls": calls, "cache_hits": hits,
                   "cache_hit_rate": round(hits / (calls + hits), 4) if calls + hits else dg.MetadataValue.null(),
                   "retries": client.stats["retries"], "http_429": client.stats["http_429"],
                   "timeouts": client.stats["timeouts"], "breaker_state": client.breaker_state,
                   "breaker_opened_at": dg.MetadataValue.json(client.breaker_log.opened_at),
                   "last_success_at": client.last_success_at or dg.MetadataValue.null(),
                   "errors": dg.MetadataValue.json(summary.errors)})
    md.update(extra or {})
    return md


def build_enrichment_asset(name: str) -> dg.AssetsDefinition:
    source_cls = SOURCES[name]
    deps = [SILVER_KEYS["tracks"]] + ([ENRICHMENT_KEYS["musicbrainz"]] if source_cls.needs_mbid else [])

    @dg.asset(
        key=ENRICHMENT_KEYS[name], deps=deps, partitions_def=daily_partitions, group_name="enrichment",
        pool=f"api_{name}", kinds=table_kinds(), automation_condition=FOLLOW_UPSTREAM,
        check_specs=[
            dg.AssetCheckSpec("no_matched_to_failed_regressions", asset=ENRICHMENT_KEYS[name], blocking=True,
                              description="No track matched before is stored as failed / not found after a re-run "
                                          "(a failure keeps the last good row)."),
            dg.AssetCheckSpec("success_rate", asset=ENRICHMENT_KEYS[name],
                              description="Share of lookups answered (matched or not found) is at least "
                                          "SONGNODES_ENRICH_MIN_SUCCESS_RATE (default 0.85; warning)."),
        ],
        description=(f"{name} enrichment of the tracks first seen on the scrape date: one row per track "
                     "(matched / not_found / failed / skipped) with score, tier and the source's fields. Fails the "
                     "partition after saving its rows when the source is down; a backfill re-asks only what the "
                     "cache does not hold."),
    )
    def _enrichment(context: dg.AssetExecutionContext, lakehouse: LakehouseResource,
                    enrichment: EnrichmentResource):
        lake = lakehouse.get()
        partition = context.partition_key
        queries = queries_from_tracks(tracks_first_seen(lake, partition, log=context.log.warning))
        config = load_config(source_cls)
        adapter = source_cls(config)
        skip = None
        if not config.enabled:
            skip = ("disabled", f"{name} is switched off (SONGNODES_{name.upper()}_ENABLED)")
        elif config.missing_credentials:
            skip = ("no_credentials", f"{name} skipped: set {', '.join(config.missing_credentials)}")
        if skip is not None:
            context.log.warning(skip[1])
            if lake.files(ENRICHMENT[name], partition):  # never replace real results with "skipped"
                yield materialized(metadata={"tracks": len(queries), "source_state": skip[0],
                                                     "reason": skip[1] + "; previous rows kept"})
                yield from _skipped_checks(skip[1])
                return
            rows = skip_all(queries, name, partition, skip[1], skip[0])
            rows, _ = keep_better(rows, None)
            lake.write(ENRICHMENT[name], ENRICHMENT[name].conform(rows) if rows else _empty(name), partition)
            yield materialized(metadata={"tracks": len(queries), "skipped": len(queries),
                                                 "source_state": skip[0], "reason": skip[1]})
            yield from _skipped_checks(skip[1])
            return
        client = enrichment.client(config, log=context.log.info, warn=context.log.warning)
        ctx = {}
        if source_cls.needs_mbid:
            mb = lake.read(ENRICHMENT["musicbrainz"], partition)
            ctx["mbids"] = dict(zip(mb.loc[mb["status"] == "matched", "track_id"],
                                    mb.loc[mb["status"] == "matched", "source_id"])) if not mb.empty else {}
        context.log.info(f"{name}: {len(queries)} tracks to enrich for {partition} via {config.base_url}")
        rows, summary = enrich(queries, adapter, client, scrape_date=partition, context=ctx,
                               max_failure_rate=enrichment.max_failure_rate, log=context.log.info)
        previous = lake.read(ENRICHMENT[name], partition)
        rows, kept = keep_better(rows, previous)
        if kept["kept_previous"]:
            context.log.warning(f"{name}: {kept['kept_previous']} track(s) keep their previous good row "
                                f"({ {k: v for k, v in kept.items() if k.startswith('kept_previous_')} }); this "
                                "attempt's error is in last_error")
        lake.write(ENRICHMENT[name], ENRICHMENT[name].conform(rows) if rows else _empty(name), partition)
        stored = {s: sum(1 for r in rows if r["status"] == s) for s in ("matched", "not_found", "failed", "skipped")}
        md = _metadata(summary, client, {"source_state": "down" if summary.down_reason else "up",
                                         "stored_matched": stored["matched"], "stored_not_found": stored["not_found"],
                                         "stored_failed": stored["failed"], **kept})
        if summary.down_reason:
            raise dg.Failure(description=(f"{name} is down for {partition}: {summary.down_reason}. "
                                          f"{len(rows)} rows saved ({stored['matched']} matched, "
                                          f"{kept['kept_previous']} kept from the previous run); backfill this "
                                          "partition once the source is back."), metadata=md)
        yield materialized(metadata=md)
        yield checked(
            check_name="no_matched_to_failed_regressions", passed=kept["regressions"] == 0,
            description=f"{kept['regressions']} previously matched track(s) stored as not matched",
            metadata={"regressions": kept["regressions"], "kept_previous": kept["kept_previous"]})
        rate = summary.success_rate
        yield checked(
            check_name="success_rate", passed=rate is None or rate >= enrichment.min_success_rate,
            severity=dg.AssetCheckSeverity.WARN,
            description=(f"{rate:.0%} of lookups answered (matched or not found)" if rate is not None
                         else "no lookups attempted"),
            metadata={"success_rate": rate if rate is not None else dg.MetadataValue.null(),
                      "threshold": enrichment.min_success_rate})

    return _enrichment


def _skipped_checks(reason: str):
    for check in ("no_matched_to_failed_regressions", "success_rate"):
        yield checked(check_name=check, passed=True, description=f"source skipped: {reason}")


def _empty(name: str):
    import pandas as pd

    spec = ENRICHMENT[name]
    return spec.conform(pd.DataFrame({c: pd.Series([], dtype=object) for c in spec.column_names}))


enrichment_assets = [build_enrichment_asset(name) for name in SOURCES]
