"""The demo, repeated and interrupted: identical counts every time, no self-loops, two demos at once on a
fresh home, a killed demo's pool slot freed by the next one, and a demo home that never goes live."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

REPO = Path(__file__).resolve().parents[1]
SONGNODES = Path(sys.executable).parent / "songnodes"
EXPECTED = json.loads((REPO / "songnodes_assets" / "sample_site" / "expected_counts.json").read_text())


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONGNODES_", "DAGSTER_HOME"))}
    return {**env, **extra}


# The demo paces its requests to its own local sample site and fake APIs (0.05 s + jitter a page, 0.01 s an API
# call; it honours these variables when set): counts, locking and slots do not depend on the pacing, so it is off.
UNPACED = {"SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0",
           **{f"SONGNODES_{s}_MIN_INTERVAL_S": "0"
              for s in ("MUSICBRAINZ", "SPOTIFY", "LASTFM", "DISCOGS", "GETSONGBPM", "ACOUSTICBRAINZ")}}


def _counts(stdout: str) -> dict[str, int]:
    block = stdout.split("rows per table:", 1)[1].split("```", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\S+)\s+(\d+)$", block, re.M)}


def _demo(home: Path, **popen):
    return subprocess.Popen([str(SONGNODES), "demo", "--home", str(home), "--date", "2024-05-01"], cwd=REPO,
                            env=_env(**UNPACED), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_two_demos_at_once_then_a_third_give_identical_counts_and_no_self_loops(tmp_path):
    home = tmp_path / "demo"
    first, second = _demo(home), _demo(home)  # a fresh home, created by two processes at once
    outs = [p.communicate(timeout=240) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert any("waiting for it to finish" in o[0] for o in outs)
    third = _demo(home)
    outs.append(third.communicate(timeout=240))
    assert third.returncode == 0, outs[-1]
    counts = [_counts(o[0]) for o in outs]
    marker = json.loads((home / "dagster_home" / "songnodes_demo.json").read_text())
    assert marker["partitions_start"] == "2024-05-01"  # `make ui` on this home shows the demo's days only
    assert counts[0] == counts[1] == counts[2] == EXPECTED  # the one place README's table is checked against
    for db in (home / "dagster_home" / "storage").rglob("*.db"):
        with sqlite3.connect(db) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "alembic_version" in tables:
                assert con.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1, db
    sql = subprocess.run([str(SONGNODES), "sql", "SELECT count(*) FILTER (WHERE from_track_id = to_track_id) AS loops "
                          "FROM silver.transitions", "--format", "csv"], cwd=REPO, capture_output=True, text=True,
                         env=_env(SONGNODES_LAKEHOUSE_ROOT=str(home / "lakehouse")))
    assert sql.stdout.split() == ["loops", "0"], sql


def test_readme_quotes_the_expected_demo_counts():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert _counts(readme) == EXPECTED


def test_definitions_on_a_demo_home_stay_offline_and_paused(tmp_path):
    from songnodes_assets.demo_home import write_marker

    home = tmp_path / ".songnodes"  # marked as `songnodes demo` marks its home (the demo itself: tests above)
    (home / "dagster_home").mkdir(parents=True)
    write_marker(home / "dagster_home", str(home / "lakehouse"), str(home / "cache"), "2024-05-01")
    probe = ("import json; from songnodes_assets.definitions import defs; from songnodes_assets.settings import Settings;"
             "from songnodes_assets.defs.partitions import daily_partitions;"
             "from songnodes_assets.lib.enrich.sources.base import load_config; from songnodes_assets.lib.enrich.sources "
             "import SOURCES; s = Settings.from_env();"
             "print(json.dumps({'sensors': {x.name: x.default_status.value for x in defs.sensors},"
             "'base': s.mixesdb_base_url, 'lake': s.lakehouse_root, 'first': daily_partitions.get_first_partition_key(),"
             "'apis': sorted({load_config(c).base_url for c in SOURCES.values()})}))")

    def start(**env):  # each load a process of its own, all started at once (they only read)
        return subprocess.Popen([sys.executable, "-c", probe], cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env(**env))

    def load(proc):
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        return json.loads(stdout.strip().splitlines()[-1]), stderr

    demo_envs = ({"DAGSTER_HOME": str(home / "dagster_home")}, {"DAGSTER_IS_DEV_CLI": "1"})
    other = {"DAGSTER_HOME": str(tmp_path / "another_home")}
    procs = [start(**env) for env in demo_envs]
    other_proc, started_proc = start(**other), start(**other, SONGNODES_PARTITIONS_START="2026-03-01")
    # DAGSTER_HOME = the demo's home (make ui), and plain `dagster dev` in the folder holding .songnodes
    for env, proc in zip(demo_envs, procs):
        info, err = load(proc)
        assert info["sensors"]["songnodes_automation"] == "STOPPED", env
        assert info["sensors"]["retry_failed_enrichments"] == "STOPPED"
        assert info["sensors"]["alert_run_failures"] == "RUNNING"  # alerts read the instance only
        assert info["base"] == "http://127.0.0.1:9" and info["apis"] == ["http://127.0.0.1:9"]
        assert Path(info["lake"]).resolve() == (home / "lakehouse").resolve()
        assert info["first"] == "2024-05-01"  # the partitions start where the demo's data starts
        assert "demo home" in err and "paused" in err
    info, _ = load(other_proc)  # any other instance is not the demo's
    assert info["sensors"]["songnodes_automation"] == "RUNNING" and info["base"] == "https://www.mixesdb.com"
    assert info["first"] == "2024-01-01"
    info, _ = load(started_proc)
    assert info["first"] == "2026-03-01"


def test_a_killed_demo_does_not_hold_its_pool_slot(tmp_path):
    home = tmp_path / "demo"
    dagster_home = home / "dagster_home"
    proc = subprocess.Popen([str(SONGNODES), "demo", "--home", str(home), "--date", "2024-05-01"], cwd=REPO,
                            env=_env(SONGNODES_MIN_INTERVAL_S="1"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    claimed = False
    while time.time() < deadline and not claimed:
        time.sleep(0.25)
        if (dagster_home / "storage").is_dir():
            with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as inst:
                try:
                    claimed = bool(inst.event_log_storage.get_concurrency_info("mixesdb").claimed_slots)
                except Exception:  # noqa: BLE001 - the storage may still be initialising
                    claimed = False
    assert claimed, "bronze never claimed its pool slot"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    t0 = time.time()
    again = _demo(home)
    out, err = again.communicate(timeout=240)
    took = time.time() - t0
    assert again.returncode == 0, err
    assert "released run" in out and took < 120
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as inst:
        assert not inst.event_log_storage.get_concurrency_info("mixesdb").claimed_slots
        statuses = sorted(r.status.value for r in inst.get_runs())
        assert statuses.count("FAILURE") == 1 and statuses.count("SUCCESS") == 2
