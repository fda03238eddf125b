"""`dagster dev` loads the workspace and shows the sensors running and the schedules (real webserver,
queried over GraphQL on 127.0.0.1)."""

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
QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
  sensors { name sensorState { status } } schedules { name scheduleState { status } } } } } }"""


LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on RunConfigValidationInvalid { errors { message } } ... on PythonError { message }
  ... on LaunchRunSuccess { run { runId } } } }"""


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                 data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dagster_dev_shows_running_sensors_and_schedules(tmp_path):
    port = free_port()
    exe = Path(sys.executable).parent / "dagster"
    proc = subprocess.Popen([str(exe), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)], cwd=REPO,
                            env={**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        data = None
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": QUERY}).encode(),
                                             headers={"Content-Type": "application/json"})
                data = json.loads(urllib.request.urlopen(req, timeout=5).read())
                if data.get("data", {}).get("repositoriesOrError", {}).get("nodes"):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert data, "dagster dev did not answer"
        repo = data["data"]["repositoriesOrError"]["nodes"][0]
        sensors = {x["name"]: x["sensorState"]["status"] for x in repo["sensors"]}
        assert sensors["alert_zero_enhanced_tracks"] == "RUNNING" and sensors["retry_failed_enrichments"] == "RUNNING"
        assert sensors["songnodes_automation"] == "RUNNING"
        assert {k for k, v in sensors.items() if k.startswith("alert_") and v == "RUNNING"} == {
            k for k in sensors if k.startswith("alert_")}
        assert {x["name"] for x in repo["schedules"]} == {"daily_scrape", "weekly_not_found_sweep"}
        # a run launched over GraphQL (as any web page could) cannot re-point the lakehouse or the crawler
        for override in ({"lakehouse": {"config": {"root": str(tmp_path / "evil")}}},
                         {"mixesdb": {"config": {"allowed_hosts": ["evil.example"], "base_url": "http://evil.example"}}}):
            answer = graphql(port, LAUNCH, {"params": {
                "selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                             "jobName": "songnodes_scrape"},
                "runConfigData": {"resources": override},
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2024-05-01"}]}}})
            result = answer["data"]["launchRun"]
            assert result["__typename"] == "RunConfigValidationInvalid", result
            assert "unexpected config entr" in json.dumps(result)
        assert not (tmp_path / "evil").exists()
    finally:
        stop_group(proc)


def test_root_config_needs_no_environment(tmp_path):
    """`dagster definitions validate` and `dagster asset materialize` where the repo's workspace.yaml and
    root dagster.yaml lie, with no DAGSTER_HOME and no SONGNODES_* set: the embedded SQLite default."""
    import shutil

    for name in ("workspace.yaml", "dagster.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONGNODES_", "DAGSTER_HOME"))}
    exe = Path(sys.executable).parent / "dagster"
    out = subprocess.run([str(exe), "definitions", "validate", "-w", "workspace.yaml"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "All code locations passed validation" in out.stdout + out.stderr
    # a real run on that instance lands in ./.songnodes/dagster_home (the lake root points to a closed port)
    env["SONGNODES_MIXESDB_BASE_URL"] = "http://127.0.0.1:9"
    run = subprocess.run([str(exe), "asset", "materialize", "-m", "songnodes_assets.definitions", "--select",
                          "bronze/raw_scrape_data", "--partition", "2024-05-01"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert (tmp_path / ".songnodes" / "dagster_home" / "history" / "runs.db").exists(), run.stderr[-2000:]
    assert "postgres" not in (run.stdout + run.stderr).lower()
