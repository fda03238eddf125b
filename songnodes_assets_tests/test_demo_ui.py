"""The demo's runs, seen by the real webserver on the demo home: they belong to the workspace's code location
(repositoryOrigin set, so the Overview timeline, the job sparklines and "Re-execute" without a version
warning work), are runs of songnodes_main and songnodes_gold with their partition, and the sensors are
listed; the community pop-up is off; a failed run shows as an open CRITICAL alert on the ops/alerts asset once
the daemon ticks the alert sensors (GraphQL on 127.0.0.1)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .helpers import stop_group

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATE = "2024-05-01"

RUNS = """{ runsOrError { ... on Runs { results { runId pipelineName status pipelineSnapshotId
  repositoryOrigin { repositoryLocationName repositoryName } tags { key value } } } } }"""
REPOS = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
  jobs { name pipelineSnapshotId runs(limit: 5) { runId } } sensors { name sensorState { status } } } } } }"""

ALERTS = """{ assetOrError(assetKey: {path: ["ops", "alerts"]}) { ... on Asset { assetMaterializations(limit: 1) {
  metadataEntries { label ... on IntMetadataEntry { intValue } ... on MarkdownMetadataEntry { mdStr } } } } } }"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONGNODES_", "DAGSTER_HOME"))}
    return {**env, **extra}


# The demo paces its requests to its own local sample site and fake APIs (0.05 s + jitter a page, 0.01 s an API
# call; it honours these variables when set): nothing here depends on the pacing, so it is off.
UNPACED = {"SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0",
           **{f"SONGNODES_{s}_MIN_INTERVAL_S": "0"
              for s in ("MUSICBRAINZ", "SPOTIFY", "LASTFM", "DISCOGS", "GETSONGBPM", "ACOUSTICBRAINZ")}}


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    answer = json.loads(urllib.request.urlopen(req, timeout=30).read())
    assert "errors" not in answer, answer
    return answer["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_runs_belong_to_the_code_location_in_the_webserver(tmp_path):
    home = tmp_path / "demo"
    demo_stderr = (tmp_path / "demo.stderr").open("w+")
    demo = subprocess.Popen([str(BIN / "songnodes"), "demo", "--home", str(home), "--date", DATE], cwd=REPO,
                            env=_env(**UNPACED, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=demo_stderr,
                            text=True)
    # The webserver starts once the demo has its instance and marker and has loaded the code location (the line
    # "code location: ..."; the runs follow): its start-up overlaps the demo's runs. Every query below that
    # looks at runs is made after the demo has finished.
    printed = []
    for line in demo.stdout:
        printed.append(line)
        if line.startswith("code location:"):
            break
    else:
        demo.wait(60)
        demo_stderr.seek(0)
        raise AssertionError(f"the demo ended before loading its code location: {demo_stderr.read()[-3000:]}")

    port = _free_port()
    proc = subprocess.Popen([str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
                             "-p", str(port)], cwd=REPO, env=_env(DAGSTER_HOME=str(home / "dagster_home")),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        rest, _ = demo.communicate(timeout=180)
        demo_stderr.seek(0)
        assert demo.returncode == 0, demo_stderr.read()[-3000:]
        assert "silver.playlists               12" in "".join(printed) + rest

        repos, deadline = [], time.time() + 90
        while not repos and time.time() < deadline:
            assert proc.poll() is None, "dagster-webserver exited"
            try:
                repos = _graphql(port, REPOS)["repositoriesOrError"]["nodes"]
            except OSError:
                time.sleep(0.5)
        assert repos, "dagster-webserver did not load the workspace"
        (repo,) = repos
        location = repo["location"]["name"]
        assert location == "songnodes_assets.definitions:defs"
        jobs = {j["name"]: j for j in repo["jobs"]}

        runs = _graphql(port, RUNS)["runsOrError"]["results"]
        assert sorted(r["pipelineName"] for r in runs) == ["songnodes_gold", "songnodes_main"]
        for run in runs:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            assert run["status"] == "SUCCESS", run
            assert tags["dagster/partition"] == DATE, tags
            # the UI matches a run to its job by origin and snapshot: timeline rows, sparklines, re-execute
            assert run["repositoryOrigin"] == {"repositoryLocationName": location, "repositoryName": repo["name"]}
            job = jobs[run["pipelineName"]]
            assert run["pipelineSnapshotId"] == job["pipelineSnapshotId"], "Re-execute would warn: other version"
            assert run["runId"] in {r["runId"] for r in job["runs"]}

        sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        assert sensors["songnodes_automation"] == "STOPPED" and sensors["retry_failed_enrichments"] == "STOPPED"
        assert any(name.startswith("alert_") for name in sensors)
        assert _graphql(port, "{ shouldShowNux }")["shouldShowNux"] is False

        # a firing alert, where a Dagster user looks: a run fails on the demo home (its remotes are offline), the
        # daemon ticks the alert sensors, and the ops/alerts asset's newest materialization lists the open alert.
        # One try per request, unpaced: the closed port fails at once instead of after 15 s of retries and pacing
        # (the remotes stay the demo home's: only SONGNODES_MIXESDB_BASE_URL and the like would change those).
        failing = subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", "songnodes_assets.definitions",
                                  "--select", "key:bronze/raw_scrape_data", "--partition", DATE], cwd=REPO,
                                 env=_env(DAGSTER_HOME=str(home / "dagster_home"), SONGNODES_MAX_TRIES="1",
                                          SONGNODES_MIN_INTERVAL_S="0", SONGNODES_JITTER_S="0"),
                                 capture_output=True, text=True, timeout=180)
        assert failing.returncode != 0, "bronze reached a remote from the demo home"
        assert "127.0.0.1:9" in failing.stdout + failing.stderr, (failing.stdout + failing.stderr)[-3000:]
        daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=REPO,
                                  env=_env(DAGSTER_HOME=str(home / "dagster_home")), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            entries, deadline = {}, time.time() + 120
            # until the run-failure alert is in (other alert sensors, e.g. the cache-hit warnings of a first
            # demo, may materialize ops/alerts a tick earlier without it)
            while not entries.get("critical") and time.time() < deadline:
                time.sleep(0.5)
                asset = _graphql(port, ALERTS)["assetOrError"]
                mats = asset.get("assetMaterializations") or []
                entries = {e["label"]: e.get("intValue", e.get("mdStr")) for e in (mats[0]["metadataEntries"] if mats else [])}
        finally:
            stop_group(daemon)
        assert entries.get("open_alerts", 0) >= 1 and entries["critical"] >= 1, entries
        assert "**CRITICAL**" in entries["open"] and "failed" in entries["open"], entries
    finally:
        stop_group(proc)
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        demo_stderr.close()
