"""Every command block of README.md, run exactly as written, in a fresh copy of the repository (the files git
tracks, the suite's .venv linked in) with no environment but PATH and HOME.

Each ```bash block must be listed in BLOCKS with how it is judged; a block README gains without a rule here fails
the test. Blocks that reach a remote (the live MixesDB, the old database's host) run behind a local proxy that
records where they tried to go and refuses, so nothing leaves 127.0.0.1: they must fail cleanly, naming that
host. Servers (`make ui`, the production webserver and daemon) must answer GraphQL on port 3000, then stop.
`make test` is the command running this suite: it is checked with `make -n`, not run inside itself.
The steps that share nothing with the others run on a second lane beside them: the remote blocks and the live
home's from the start, beside the demo too (they touch neither its home nor, failing before they fetch, its
lakehouse), then, once the demo is done, the commands that only load the definitions; each lane keeps README
order."""

import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from .pg import admin_connection

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
PG_ROLE = "dagster"


def readme_blocks() -> list[str]:
    """The ```bash blocks, continuation lines joined, indentation of list items removed."""
    blocks = re.findall(r"^ *```bash\n(.*?)^ *```", README, re.S | re.M)
    return ["\n".join(line.strip() for line in b.replace("\\\n", " ").splitlines()) for b in blocks]


def first_command(block: str) -> str:
    """The block's first command line, runs of blanks squeezed (they do not change what the shell runs)."""
    return " ".join(next(line for line in block.splitlines() if line and not line.startswith("#")).split())


# first command line of the block -> how it is judged (in README order; the demo runs first)
BLOCKS = {
    "make demo   # creates .venv, installs, runs the main job end to end offline, prints row counts per table": "quickstart",
    "make ui     # DAGSTER_HOME=.songnodes/dagster_home dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000": "server",
    '.venv/bin/songnodes next "Trevino - Sombre Tones"': ("run",) * 6,  # Asking the data, on the demo's lakehouse
    '.venv/bin/songnodes sql "SELECT from_track, to_track, weight, djs FROM silver.transitions_named ORDER BY weight DESC, djs DESC LIMIT 10"': "run",
    "export DAGSTER_HOME=$PWD/.songnodes/live_home && mkdir -p \"$DAGSTER_HOME\"   # not the demo's home (that one stays offline)": "remote:www.mixesdb.com",
    'export SONGNODES_LEGACY_PG_DSN="host=old-db port=5432 dbname=musicdb user=reader password=..."': "remote:old-db",
    '.venv/bin/dagster asset materialize -m songnodes_assets.definitions --select enrichment/spotify --partition "$(date -u +%F)"': "run",
    # one rule per line: the main job fetches (remote), gold builds from the lakehouse
    '.venv/bin/dagster job execute -m songnodes_assets.definitions -j songnodes_main --tags "{\\"dagster/partition\\": \\"$(date -u +%F)\\"}"': ("remote:www.mixesdb.com", "run"),
    ".venv/bin/dagster asset materialize -m songnodes_assets.definitions --select 'key:silver/*' --partition \"$(date -u +%F)\"": "run",
    "mkdir -p .songnodes/live_home && DAGSTER_HOME=$PWD/.songnodes/live_home .venv/bin/dagster job backfill -w workspace.yaml -j songnodes_main --partitions 2026-11-20,2026-11-21 --noprompt": "run",
    "export SONGNODES_PG_HOST=127.0.0.1 SONGNODES_PG_PORT=5432 SONGNODES_PG_USER=dagster SONGNODES_PG_PASSWORD=... SONGNODES_PG_DB=dagster": "production",
}
BLOCKS = {" ".join(k.split()): v for k, v in BLOCKS.items()}
# whole command lines quoted inline in README's text, run the same way after the blocks
INLINE = [
    ".venv/bin/dg check defs", ".venv/bin/dg list defs", "make validate",
    'songnodes sql "SELECT * FROM silver.problems"', 'songnodes sql "SELECT * FROM ops.alerts"',
    "DAGSTER_HOME=$PWD/.songnodes/dagster_home .venv/bin/songnodes failed-partitions",
]


class _RefusingProxy(socketserver.ThreadingTCPServer):
    """An HTTP(S) proxy on 127.0.0.1 that records the target of each request and refuses it."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.targets: list[str] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(inner):
                line = inner.rfile.readline(4096).decode("latin-1").split()
                if len(line) >= 2:
                    self.targets.append(line[1])
                inner.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)


def _fresh_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if src.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name.decode())  # keeps mtimes: make sees the installed .venv as current
    (dest / ".venv").symlink_to(REPO / ".venv")
    return dest


def _bare_env(**extra) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), **extra}


def _bash(script: str, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _serve(script: str, cwd: Path, env: dict) -> None:
    """Run a block that starts servers; it passes when port 3000 answers GraphQL; then every process stops."""
    proc = subprocess.Popen(["bash", "-c", script + "\nwait"], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline, answer = time.time() + 120, None
        while answer is None and time.time() < deadline:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            try:
                req = urllib.request.Request("http://127.0.0.1:3000/graphql", data=b'{"query": "{ version }"}',
                                             headers={"Content-Type": "application/json"})
                answer = json.loads(urllib.request.urlopen(req, timeout=5).read())
            except OSError:
                time.sleep(0.5)
        assert answer and answer["data"]["version"], "nothing answered on 127.0.0.1:3000"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _ensure_pg_role() -> None:
    con = admin_connection()  # the README's role and database, as an operator would have created them
    with con.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PG_ROLE,))
        if not cur.fetchone():
            cur.execute(f"CREATE ROLE {PG_ROLE} LOGIN")
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_ROLE,))
        if not cur.fetchone():
            cur.execute(f"CREATE DATABASE {PG_ROLE} OWNER {PG_ROLE}")
    con.close()


def _check_demo_output(root: Path, env: dict, stdout: str) -> None:
    """What `make demo` left: the counts README quotes, runs in its instance, the monitoring queries answering, one
    artist-coverage definition (query = silver metadata), and every float metadata value rounded."""
    from dagster import AssetKey, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    expected = json.loads((REPO / "songnodes_assets" / "sample_site" / "expected_counts.json").read_text())
    counts = dict(re.findall(r"^\s+(\S+\.\S+)\s+(\d+)$", stdout.split("rows per table:", 1)[1], re.M))
    assert {k: int(v) for k, v in counts.items()} == expected
    answers = {}
    for q in sorted((root / "sql" / "monitoring").glob("*.sql")):
        res = _bash(f".venv/bin/songnodes sql --file {q.relative_to(root)} --format json", root, env)
        assert res.returncode == 0 and res.stdout.strip(), (q.name, res.stderr)
        answers[q.name] = res.stdout
    sql_pct = json.loads(answers["artist_coverage_by_day.sql"].splitlines()[0])["artist_coverage_pct"]
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(root / ".songnodes" / "dagster_home"))) as instance:
        assert instance.get_runs_count() >= 2  # `dagster dev` shows them afterwards
        event = instance.get_latest_materialization_event(AssetKey(["silver", "playlist_tracks"]))
        assert event.asset_materialization.metadata["artist_coverage_pct"].value == sql_pct
        floats = [(key.to_user_string(), name, value.value) for key in instance.get_asset_keys()
                  for rec in instance.fetch_materializations(key, limit=50).records
                  for name, value in rec.asset_materialization.metadata.items() if isinstance(value.value, float)]
    assert floats and all(round(v, 4) == v for _, _, v in floats), [f for f in floats if round(f[2], 4) != f[2]]


def test_every_readme_block_has_a_rule():
    firsts = [first_command(b) for b in readme_blocks()]
    assert sorted(firsts) == sorted(BLOCKS), {"README only": set(firsts) - set(BLOCKS),
                                              "rule only": set(BLOCKS) - set(firsts)}
    for line in INLINE:
        assert f"`{line}`" in README, line


def _judge(block: str, rule: str, root: Path, env: dict) -> None:
    """Run one block (or line) as written and judge it by its rule."""
    if rule == "quickstart":
        demo = _bash("make demo", root, env)
        assert demo.returncode == 0, demo.stderr[-3000:]
        assert "gold.transition_graph" in demo.stdout and "FAILURE" not in demo.stdout
        _check_demo_output(root, env, demo.stdout)
        dry = _bash("make -n test", root, env)
        assert ".venv/bin/python -m pytest -q" in dry.stdout, dry.stdout  # this suite is `make test`
    elif rule == "server":
        _serve(block, root, env)
    elif rule == "run":
        res = _bash(block, root, env)
        assert res.returncode == 0, (block, res.stdout[-2000:], res.stderr[-3000:])
        assert "Traceback" not in res.stderr, (block, res.stderr[-3000:])
    elif rule.startswith("remote:"):
        host = rule.split(":", 1)[1]
        with _RefusingProxy() as proxy:
            threading.Thread(target=proxy.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{proxy.server_address[1]}"
            res = _bash(block, root, _bare_env(HTTP_PROXY=url, HTTPS_PROXY=url, http_proxy=url, https_proxy=url))
            proxy.shutdown()
        out = res.stdout + res.stderr
        assert res.returncode != 0, (block, out[-2000:])  # nothing can be fetched from here
        assert host in out, (block, out[-3000:])
        assert all(host in t for t in proxy.targets), proxy.targets  # it went nowhere else
        assert "password=..." not in out, out[-2000:]  # the connection string is not repeated
    elif rule == "production":
        _ensure_pg_role()
        _serve(block, root, env)
    else:
        raise AssertionError(f"no such rule: {rule!r}")


# Steps on a second lane, in README order, beside the others (2 cores): from the start, beside the demo, the blocks
# that reach a remote (they fail before they fetch or write anything, mostly waiting out their retries) and what
# runs in the live home (no other step uses it); once the demo is done (they read its home's marker, `make validate`
# on its home), the inline commands that only load the definitions.
DEFS_ONLY = {".venv/bin/dg check defs", ".venv/bin/dg list defs", "make validate"}


def _beside(block: str, rule: str) -> bool:
    return rule.startswith("remote:") or ".songnodes/live_home" in block or block in DEFS_ONLY


@pytest.mark.timeout(900)
def test_readme_commands_run_as_written(tmp_path):
    assert _port_free(3000), "port 3000 is busy: the README's UI commands bind it"
    root = _fresh_copy(tmp_path / "clone")
    env = _bare_env()
    by_first = {first_command(b): b for b in readme_blocks()}
    steps = []
    for first, rule in BLOCKS.items():
        block = by_first[first]
        if isinstance(rule, tuple):  # judged line by line
            lines = [line for line in block.splitlines() if line and not line.startswith("#")]
            assert len(lines) == len(rule), (block, rule)
            steps += list(zip(lines, rule))
        else:
            steps.append((block, rule))
    # the inline command lines after the blocks, judged as "run" (`songnodes` is the .venv's)
    steps += [(line if not line.startswith("songnodes ") else ".venv/bin/" + line, "run") for line in INLINE]
    assert steps[0][1] == "quickstart", steps[0]  # the demo first: the other blocks use what it built
    lane_order = [b for b, r in steps if _beside(b, r)]  # the early ones, then DEFS_ONLY: still README order
    assert lane_order == [b for b in lane_order if b not in DEFS_ONLY] + [b for b in lane_order if b in DEFS_ONLY]
    lane = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="readme-beside")
    try:
        beside = [lane.submit(_judge, block, rule, root, env) for block, rule in steps[1:]
                  if _beside(block, rule) and block not in DEFS_ONLY]
        _judge(*steps[0], root, env)
        beside += [lane.submit(_judge, block, rule, root, env) for block, rule in steps[1:] if block in DEFS_ONLY]
        for block, rule in steps[1:]:
            if not _beside(block, rule):
                _judge(block, rule, root, env)
        for done in beside:
            done.result()
    finally:
        lane.shutdown(wait=True, cancel_futures=True)
