"""``songnodes demo``: serve the bundled sample site on 127.0.0.1 and run the main job through Dagster
with a persistent local instance (so the runs are in ``dagster dev`` afterwards); print row counts."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

DEMO_DAGSTER_YAML = """\
# Local instance for `songnodes demo` and `make ui` (SQLite storage under this folder).
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def prepare_home(home: Path) -> Path:
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster_home").resolve()
    dagster_home.mkdir(parents=True, exist_ok=True)
    cfg = dagster_home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DEMO_DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


def run_demo(partition: str | None = None, home: str | None = None, out=print) -> int:
    import dagster as dg

    from .defs.jobs import MAIN_JOB_NAME
    from .definitions import build_definitions
    from .lib.catalog import table_counts
    from .sample_site.server import SampleSite
    from .settings import Settings

    home_path = Path(home or os.environ.get("SONGNODES_HOME") or ".songnodes").resolve()
    dagster_home = prepare_home(home_path)
    partition = partition or dt.datetime.now(dt.timezone.utc).date().isoformat()
    os.environ.setdefault("SONGNODES_LAKEHOUSE_ROOT", str(home_path / "lakehouse"))
    with SampleSite() as site:
        base = site.base_url
        os.environ["SONGNODES_MIXESDB_BASE_URL"] = base
        os.environ["SONGNODES_MIXESDB_START_URLS"] = f"{base}/w/Category:Techno,{base}/w/Special:RecentChanges"
        # The sample site is ours and local: a short interval keeps the demo quick (live default: 4 s + jitter).
        os.environ.setdefault("SONGNODES_MIN_INTERVAL_S", "0.05")
        os.environ.setdefault("SONGNODES_JITTER_S", "0.05")
        settings = Settings.from_env()
        out(f"sample site: {base} ({len(site.pages)} mix pages)")
        out(f"DAGSTER_HOME: {dagster_home}")
        out(f"lakehouse:    {settings.lakehouse_root}")
        out(f"partition:    {partition}")
        job = build_definitions(settings).resolve_job_def(MAIN_JOB_NAME)
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(instance=instance, partition_key=partition, raise_on_error=False)
        out(f"run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'} ({len(site.requests)} HTTP requests)")
    counts = table_counts(settings.lakehouse_root)
    out("rows per table:")
    for name, n in counts.items():
        out(f"  {name:<26} {n:>6}")
    out("next: `make ui` (or DAGSTER_HOME=%s dagster dev) and open http://127.0.0.1:3000" % dagster_home)
    if not result.success:
        for ev in result.all_events:
            if ev.is_failure:
                print(f"failure: {ev.message}", file=sys.stderr)
        return 1
    return 0
