"""bronze.raw_scrape_data: the pages as fetched (append-only), one parquet file per run per scrape date."""

import datetime as dt

import dagster as dg

from ...lib.bronze import duplicate_pages, fetch_summary, last_successful_fetches, split_fresh
from ...lib.http import errors
from ...lib.mixesdb import discover, fetch_rows, tracklists1001_refs
from ...lib.schemas import BRONZE_RAW
from ..metadata import checked, materialized, table_kinds
from ..partitions import daily_partitions
from ..resources import LakehouseResource, MixesDBResource

RAW_SCRAPE_DATA = dg.AssetKey(["bronze", "raw_scrape_data"])


@dg.asset(
    key=RAW_SCRAPE_DATA,
    partitions_def=daily_partitions,
    group_name="bronze",
    pool="mixesdb",
    kinds=table_kinds(),
    check_specs=[
        dg.AssetCheckSpec("no_anti_bot_pages", asset=RAW_SCRAPE_DATA, blocking=True,
                          description="No captcha / anti-bot / challenge page in this run (the crawl stops at the first)."),
        dg.AssetCheckSpec("fetch_error_share", asset=RAW_SCRAPE_DATA, blocking=True,
                          description="Share of this run's fetches that failed stays under SONGNODES_MAX_ERROR_RATE "
                                      "(default 0.2)."),
    ],
    description=(
        "Raw MixesDB pages (wikitext) and configured 1001tracklists pages (HTML) with fetch metadata, appended per run. Guarantees: every fetch attempt "
        "that reached a verdict is a row (errors included, with error_kind); rows are never rewritten; a page "
        "fetched successfully within SONGNODES_REFETCH_AFTER_DAYS is not fetched again."
    ),
)
def raw_scrape_data(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, mixesdb: MixesDBResource):
    lake = lakehouse.get()
    client = mixesdb.client(log=context.log.info)
    try:
        refs = discover(client, mixesdb.base_url, mixesdb.start_urls, mixesdb.discovery_limit, log=context.log.info)
    except errors.FetchError as exc:
        raise dg.Failure(description=f"discovery failed: {exc}", metadata={"error_kind": exc.kind}) from exc
    refs += tracklists1001_refs(mixesdb.tracklists1001_urls)
    # the refetch window decides what is skipped; twice that (+2 days) also finds the previous fetch of a page
    # fetched again (duplicate_pages), so the lookup reads about two months of bronze, never all history
    already = last_successful_fetches(lake, within=2 * mixesdb.max_age + dt.timedelta(days=2))
    to_fetch, fresh = split_fresh(refs, already, mixesdb.max_age)
    if fresh:
        context.log.info(f"{len(fresh)} page(s) fetched within {mixesdb.refetch_after_days} days under this or another "
                         f"URL: not fetched again (e.g. {fresh[0].title!r})")
    rows = list(fetch_rows(client, to_fetch, scrape_date=context.partition_key, run_id=context.run.run_id,
                           already_fetched=already, max_age=mixesdb.max_age, log=context.log.info))
    df = BRONZE_RAW.conform(rows) if rows else None
    path = None
    if df is not None:
        path = lake.write(BRONZE_RAW, df, context.partition_key, file_name=f"run-{context.run.run_id}.parquet")
    summary = fetch_summary(df) if df is not None else {"pages_fetched": 0, "pages_ok": 0}
    dups = duplicate_pages(df, already) if df is not None else 0
    summary["duplicate_pages"] = dups
    summary["duplicate_rate"] = round(dups / summary["pages_ok"], 4) if summary.get("pages_ok") else 0.0
    stats = {f"http_{k}": int(v) for k, v in sorted(client.stats.items())}
    metadata = {"pages_discovered": len(refs), "pages_skipped_fresh": len(refs) - len(rows), **summary, **stats,
                "path": str(path) if path else "(nothing new to write)"}
    context.log.info(f"bronze {context.partition_key}: {metadata}")
    blocked = summary.get(f"errors_{errors.BlockedPage.kind}", 0)
    error_rate = summary.get("pages_error", 0) / max(1, summary["pages_fetched"])
    bad = df[df["error_kind"].notna()][["url", "error_kind", "error"]].head(20).to_dict("records") if df is not None else []
    if bad:
        metadata["failed_urls"] = dg.MetadataValue.json(bad)
    # Rows are saved either way (bronze keeps every verdict); the blocking checks fail the step and stop
    # silver when the host serves challenge pages or too many fetches failed.
    yield materialized(metadata=metadata)
    yield checked(
        check_name="no_anti_bot_pages", passed=not blocked,
        description=(f"{blocked} captcha/anti-bot page(s): the crawl stopped; rows saved to bronze. First: "
                     f"{[b for b in bad if b['error_kind'] == errors.BlockedPage.kind][:3]}") if blocked else "ok",
        metadata={"anti_bot_pages": blocked})
    yield checked(
        check_name="fetch_error_share", passed=error_rate <= mixesdb.max_error_rate,
        description=(f"{summary.get('pages_error', 0)} of {summary['pages_fetched']} fetches failed "
                     f"({error_rate:.0%}, budget {mixesdb.max_error_rate:.0%}); rows saved to bronze. First: {bad[:3]}"),
        metadata={"error_share": round(error_rate, 4), "budget": mixesdb.max_error_rate})
