"""``songnodes demo``: serve the bundled sample site on 127.0.0.1 and run the main job through Dagster
with a persistent local instance (so the runs are in ``dagster dev`` afterwards); print row counts."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from .demo_home import marker_start, write_marker

DEMO_HEADER = "# Local instance for `songnodes demo`"
DEMO_DAGSTER_YAML = """\
# Local instance for `songnodes demo` and `make ui` (SQLite storage under this folder).
telemetry:
  enabled: false
# no "Join the Dagster community" pop-up over the first page the demo's user opens
nux:
  enabled: false
concurrency:
  pools:
    default_limit: 1
# with `dagster dev` (its daemon): a run whose process is gone is failed within 30 s and frees its slot
run_launcher:
  module: songnodes_assets.run_launcher
  class: HealthCheckedRunLauncher
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 30
"""


def prepare_home(home: Path) -> Path:
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster_home").resolve()
    dagster_home.mkdir(parents=True, exist_ok=True)
    cfg = dagster_home / "dagster.yaml"
    text = None
    if not cfg.exists():
        text = DEMO_DAGSTER_YAML
    else:  # a home written by an earlier demo: add the settings it lacks (a file of one's own is left alone)
        old = cfg.read_text(encoding="utf-8")
        if old.startswith(DEMO_HEADER) and not any(line.startswith("nux:") for line in old.splitlines()):
            text = old.rstrip("\n") + "\nnux:\n  enabled: false\n"
    if text is not None:
        tmp = cfg.with_name(f".dagster.yaml.{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cfg)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


def _pools_free(instance, out) -> bool:
    """Free the slots of runs whose process is gone; refuse (never block silently) when a live run holds one."""
    from .instance_care import live_holders, release_dead_runs
    from .lib.enrich.sources import SOURCES

    release_dead_runs(instance, log=out)
    busy = live_holders(instance, {"mixesdb", *(f"api_{s}" for s in SOURCES)})
    for h in busy:
        print(f"pool {h.pool!r} is held by run {h.run_id} (step {h.step_key}, pid {h.pid}, still running): wait for it "
              f"to finish, or terminate it in the UI (Runs -> the run -> Terminate) and run the demo again",
              file=sys.stderr)
    return not busy


def run_demo(partition: str | None = None, home: str | None = None, out=print) -> int:
    from .instance_care import home_lock

    home_path = Path(home or os.environ.get("SONGNODES_HOME") or ".songnodes").resolve()
    dagster_home = prepare_home(home_path)
    with home_lock(dagster_home, log=out):
        return _run_locked(dagster_home, home_path, partition, out)


def _run_locked(dagster_home: Path, home_path: Path, partition: str | None, out) -> int:
    os.environ["SONGNODES_DEMO_RUNNING"] = "1"  # the demo sets its own remotes (demo_home.apply_defaults)
    import dagster as dg

    from .lib.partition_start import parse_day, partitions_start

    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    partition = partition or today
    floor = partitions_start()  # SONGNODES_PARTITIONS_START when set, else the default first day
    try:
        valid = parse_day(partition, "--date") == partition and floor <= partition <= today
    except ValueError:
        valid = False
    if not valid:  # refused before any run or page fetch
        print(f"--date {partition}: not a scrape date partition (YYYY-MM-DD, UTC, {floor} to {today})",
              file=sys.stderr)
        return 1
    # The demo home's partitions start at the earliest day a demo built there (unless set explicitly), so the
    # UI shows the demo's days rather than a thousand empty ones; the marker carries it to `make ui`.
    if not os.environ.get("SONGNODES_PARTITIONS_START", "").strip():
        os.environ["SONGNODES_PARTITIONS_START"] = min(filter(None, (marker_start(dagster_home), partition)))
    from .defs.jobs import GOLD_JOB_NAME, MAIN_JOB_NAME
    from .lib.catalog import table_counts
    from .sample_site.fake_apis import FakeApis
    from .sample_site.server import SampleSite
    from .settings import Settings

    os.environ.setdefault("SONGNODES_LAKEHOUSE_ROOT", str(home_path / "lakehouse"))
    os.environ.setdefault("SONGNODES_CACHE_DIR", str(home_path / "cache"))
    write_marker(dagster_home, os.environ["SONGNODES_LAKEHOUSE_ROOT"], os.environ["SONGNODES_CACHE_DIR"],
                 os.environ["SONGNODES_PARTITIONS_START"])
    with SampleSite() as site, FakeApis() as apis:
        base = site.base_url
        os.environ["SONGNODES_MIXESDB_BASE_URL"] = base
        os.environ["SONGNODES_MIXESDB_START_URLS"] = f"{base}/w/Category:Techno,{base}/w/Special:RecentChanges"
        # The sample site and the fake APIs are ours and local: short intervals keep the demo quick
        # (live defaults: 4 s + jitter for MixesDB, each API's documented quota).
        os.environ.setdefault("SONGNODES_MIN_INTERVAL_S", "0.05")
        os.environ.setdefault("SONGNODES_JITTER_S", "0.05")
        for key, value in apis.env().items():  # every source -> the local fakes, with demo credentials
            os.environ[key] = value
        for source in ("musicbrainz", "spotify", "lastfm", "discogs", "getsongbpm", "acousticbrainz"):
            os.environ.setdefault(f"SONGNODES_{source.upper()}_MIN_INTERVAL_S", "0.01")
        settings = Settings.from_env()
        out(f"sample site: {base} ({len(site.pages)} mix pages); fake APIs: {apis.base_url}")
        out(f"DAGSTER_HOME: {dagster_home}")
        out(f"lakehouse:    {settings.lakehouse_root}")
        out(f"partition:    {partition}")
        # Only now (environment set) the code location of workspace.yaml loads the definitions, in this
        # process: the runs carry its origin and job snapshots, like runs launched from `dagster dev`.
        from .demo_launch import code_location, run_job

        with dg.DagsterInstance.get() as instance:
            if not _pools_free(instance, out):
                return 1
            with code_location(instance) as location:
                out(f"code location: {location.name}")
                main = run_job(instance, location, MAIN_JOB_NAME, partition)
                out(f"run {main.run_id} ({MAIN_JOB_NAME}): {'SUCCESS' if main.success else 'FAILURE'} "
                    f"({len(site.requests)} page requests, {sum(len(v) for v in apis.log.values())} API requests)")
                # In production declarative automation builds gold; here it runs right away.
                gold = run_job(instance, location, GOLD_JOB_NAME, partition)
                out(f"run {gold.run_id} ({GOLD_JOB_NAME}): {'SUCCESS' if gold.success else 'FAILURE'}")
                # ops/alerts shows what is open now (the alert sensors update it on every change once a daemon
                # runs: `make ui`), instead of "never materialized"
                from .defs.automation.alert_sensors import alerts_event
                from .lib.iceberg_lakehouse import open_lake

                snapshot = alerts_event(open_lake(settings.lakehouse_root, settings.table_format), "songnodes demo", 0)
                instance.report_runless_asset_event(snapshot)
                out(f"open alerts:  {snapshot.metadata['open_alerts'].value} (ops/alerts in the UI)")
    from .lib.iceberg_lakehouse import open_lake

    counts = table_counts(open_lake(settings.lakehouse_root, settings.table_format))
    out("rows per table:")
    for name, n in counts.items():
        out(f"  {name:<26} {n:>6}")
    out("next: `make ui` (or DAGSTER_HOME=%s dagster dev) and open http://127.0.0.1:3000" % dagster_home)
    for r in (main, gold):
        for message in r.failures:
            print(f"failure: {message}", file=sys.stderr)
    return 0 if main.success and gold.success else 1
