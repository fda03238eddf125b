"""Screenshots of the Dagster UI on the demo's home (not a test): the asset graph, an enrichment source's
partitions, the Overview timeline, the runs, the jobs, the asset checks of silver/playlists, silver/tracks (its newest metadata) and the newest
songnodes_main run.

    songnodes demo                      # first: fills .songnodes/dagster_home
    python scripts/screenshots.py       # PNGs in .songnodes/screenshots
    python scripts/screenshots.py --home /tmp/x --out /tmp/shots --source spotify

Starts ``dagster-webserver -w workspace.yaml`` on 127.0.0.1 (a free port) with DAGSTER_HOME = the demo's
Dagster home, waits until the code location is loaded, then takes each page with headless Chromium
(Debian: ``apt-get install -y chromium``) in a fresh profile that may only resolve 127.0.0.1. The webserver
is stopped at the end. No daemon: nothing is scheduled or launched.

The "Join the Dagster community" pop-up is a server setting (``nux: enabled: false`` in dagster.yaml;
``songnodes demo`` writes it into the demo home's dagster.yaml); the script checks ``shouldShowNux`` and,
on a home without that setting, records the pop-up as seen the way its dismiss button does (GraphQL
``setNuxSeen``, which writes DAGSTER_HOME/.nux/nux.yaml).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--disable-domain-reliability", "--no-proxy-server",
    # loopback only: every other host name fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                 data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=timeout).read())


def wait_for_webserver(port: int, proc: subprocess.Popen, timeout: float = 120) -> str:
    """The code location's name once the webserver serves it."""
    deadline = time.time() + timeout
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"dagster-webserver exited with {proc.returncode}")
        try:
            entries = graphql(port, query, timeout=5)["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return entries[0]["name"]
        except (OSError, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"dagster-webserver did not load the workspace within {timeout:.0f} s")


def newest_main_run(port: int) -> tuple[str | None, str | None]:
    """(run id, partition) of the newest songnodes_main run: the demo's last run and its --date."""
    data = graphql(port, """{ runsOrError(filter: {pipelineName: "songnodes_main"}, limit: 1) {
        ... on Runs { results { runId tags { key value } } } } }""")
    for run in data["data"]["runsOrError"].get("results", []):
        return run["runId"], next((t["value"] for t in run["tags"] if t["key"] == "dagster/partition"), None)
    return None, None


def pages(location: str, source: str, partition: str | None, run_id: str | None) -> list[tuple[str, str]]:
    partitions_page = f"/assets/enrichment/{source}?view=partitions"
    if partition:
        partitions_page += f"&partition={urllib.parse.quote(partition)}"
    return [
        ("asset_graph", "/asset-groups"),  # the four groups, collapsed: bronze -> silver -> enrichment -> gold
        # one group with its nodes' details (the global graph with every group expanded is cropped at its
        # minimum zoom and draws nodes without their status)
        ("asset_group_silver", f"/locations/{urllib.parse.quote(location)}/asset-groups/silver"),
        (f"enrichment_{source}_partitions", partitions_page),
        ("overview_timeline", "/overview/activity/timeline"),
        ("runs", "/runs"),
        ("jobs", "/jobs"),
        ("silver_playlists_checks", "/assets/silver/playlists?view=checks"),
        # the newest materialisation's metadata (with SONGNODES_TABLE_FORMAT=iceberg: its iceberg_snapshot_id)
        ("silver_tracks", "/assets/silver/tracks"),
        ("asset_group_gold", f"/locations/{urllib.parse.quote(location)}/asset-groups/gold"),
        # "what is wrong right now": the open alerts on the ops/alerts asset's newest materialization
        ("ops_alerts", "/assets/ops/alerts"),
        ("gold_next_tracks", "/assets/gold/next_tracks"),
    ] + ([("run_songnodes_main", f"/runs/{run_id}")] if run_id else [])


def screenshot(chromium: str, url: str, png: Path, size: str, budget_ms: int) -> None:
    with tempfile.TemporaryDirectory(prefix="songnodes-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
               f"--virtual-time-budget={budget_ms}", f"--screenshot={png}", url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if out.returncode != 0 or not png.is_file():
        raise SystemExit(f"chromium failed on {url} ({out.returncode}): {out.stderr[-1500:]}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--home", default=os.environ.get("SONGNODES_HOME") or str(ROOT / ".songnodes"),
                   help="the demo's home (its Dagster home is HOME/dagster_home; default ./.songnodes)")
    p.add_argument("--out", help="folder for the PNGs (default HOME/screenshots)")
    p.add_argument("--source", default="spotify", help="enrichment source for the partitions view")
    p.add_argument("--partition", help="partition to open there (default: the newest songnodes_main run's)")
    p.add_argument("--size", default="1600,1000", help="browser window WIDTH,HEIGHT")
    p.add_argument("--budget-ms", type=int, default=20000, help="virtual time each page gets to load")
    p.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    p.add_argument("--port", type=int, default=0, help="webserver port on 127.0.0.1 (default: a free one)")
    args = p.parse_args(argv)

    if not args.chromium:
        print("no chromium on PATH (Debian: apt-get install -y chromium), or pass --chromium", file=sys.stderr)
        return 2
    home = Path(args.home).resolve()
    dagster_home = home / "dagster_home"
    if not (dagster_home / "songnodes_demo.json").is_file():
        print(f"{dagster_home} is not a demo home: run `songnodes demo --home {home}` first", file=sys.stderr)
        return 2
    out_dir = Path(args.out).resolve() if args.out else home / "screenshots"
    out_dir.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    log = open(out_dir / "webserver.log", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                             "-p", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        t0 = time.time()
        location = wait_for_webserver(port, proc)
        print(f"webserver on http://127.0.0.1:{port} ({location}, DAGSTER_HOME={dagster_home}) "
              f"in {time.time() - t0:.1f} s")
        if graphql(port, "{ shouldShowNux }")["data"]["shouldShowNux"]:
            graphql(port, "mutation { setNuxSeen }")
            print("community pop-up: this home's dagster.yaml lacks `nux: enabled: false`; recorded it as seen")
        run_id, partition = newest_main_run(port)
        for name, path in pages(location, args.source, args.partition or partition, run_id):
            png = out_dir / f"{name}.png"
            t = time.time()
            screenshot(args.chromium, f"http://127.0.0.1:{port}{path}", png, args.size, args.budget_ms)
            print(f"{png}  ({path}, {time.time() - t:.1f} s)")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
