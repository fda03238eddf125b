"""`dg` (dagster-dg-cli) works on this project as configured in pyproject.toml's [tool.dg]: `dg check defs`
and `dg list defs` load the code location workspace.yaml names (songnodes_assets.definitions, location
"songnodes_assets.definitions:defs") with no environment set, on the embedded default instance of the
root dagster.yaml, and print no SupersessionWarning (that one is only for the `dagster` commands).

dg run in the repository root creates a temporary `.tmp_dagster_home_*` there and the instance's storage
under `.songnodes/`, so the commands run in a copy of the project's config files (pyproject.toml,
workspace.yaml, dagster.yaml) with the package and the venv linked in, as in the repository root."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"

pytestmark = pytest.mark.skipif(not DG.exists(), reason=f"{DG} missing: pip install -e '.[test]' installs dagster-dg-cli")


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    for name in ("pyproject.toml", "workspace.yaml", "dagster.yaml"):
        (root / name).write_bytes((REPO / name).read_bytes())
    # dg finds root_module under the project root; dg warns about a .venv there that is not $VIRTUAL_ENV
    (root / "songnodes_assets").symlink_to(REPO / "songnodes_assets", target_is_directory=True)
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    home = tmp_path / "home"
    # the user-level dg config is where dg's own usage telemetry is turned off (it ignores dagster.yaml's
    # `telemetry` unless DAGSTER_HOME is set)
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "dg.toml").write_text("[cli]\ntelemetry.enabled = false\n", encoding="utf-8")
    return root, {"PATH": f"{DG.parent}:/usr/bin:/bin", "HOME": str(home)}  # no DAGSTER_HOME, no SONGNODES_*


def dg(project, *args: str) -> subprocess.CompletedProcess:
    root, env = project
    result = subprocess.run([str(DG), *args], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SupersessionWarning" not in output and "superseded" not in output, output
    assert "does not match the virtual environment" not in output, output  # [tool.dg.cli] suppress_warnings
    return result


def test_dg_check_defs_loads_the_workspace_location_on_the_embedded_instance(project):
    root, _ = project
    result = dg(project, "check", "defs")
    assert "All definitions loaded successfully." in result.stdout, result.stdout + result.stderr
    # the root dagster.yaml's instance: SQLite storage under ./.songnodes/dagster_home; the temporary home
    # dg makes beside it is gone again
    assert (root / ".songnodes" / "dagster_home" / "history").is_dir()
    assert not list(root.glob(".tmp_dagster_home_*"))


def test_dg_list_defs_lists_assets_checks_jobs_schedules_and_sensors(project):
    result = dg(project, "list", "defs", "--json")
    listed = json.loads(result.stdout)
    assets = {a["asset_key"] for a in listed["assets"]}
    assert {"bronze/raw_scrape_data", "silver/playlists", "silver/transitions", "enrichment/spotify",
            "gold/transition_graph"} <= assets
    assert "silver/playlists:one_row_per_playlist" in {c["key"] for c in listed["asset_checks"]}
    assert {"songnodes_main", "songnodes_gold", "songnodes_scrape"} <= {j["name"] for j in listed["jobs"]}
    assert {s["name"] for s in listed["schedules"]} == {"daily_scrape", "weekly_not_found_sweep"}
    assert {"songnodes_automation", "retry_failed_enrichments"} <= {s["name"] for s in listed["sensors"]}


def test_tool_dg_points_at_the_workspace_yaml_location():
    """[tool.dg] and workspace.yaml name the same module and attribute: dg's location name is the one
    `dagster dev -w workspace.yaml` gives, so runs and schedule/sensor state are shared between the two."""
    import tomllib

    import yaml

    tool_dg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dg"]
    entry = yaml.safe_load((REPO / "workspace.yaml").read_text(encoding="utf-8"))["load_from"][0]["python_module"]
    assert tool_dg["directory_type"] == "project"
    assert tool_dg["project"]["root_module"] == "songnodes_assets"
    assert tool_dg["project"]["code_location_target_module"] == entry["module_name"]
    assert tool_dg["project"]["code_location_name"] == f"{entry['module_name']}:{entry['attribute']}"
    assert entry["working_directory"] == "."  # dg loads from the project root, the parent of root_module
