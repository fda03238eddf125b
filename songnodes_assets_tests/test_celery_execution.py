"""Steps on Celery workers (README: Scaling out), against the real servers on loopback: RabbitMQ (broker, a vhost
of its own per test), Redis (result backend, an empty DB of its own, flushed afterwards) and PostgreSQL (the
instance of deploy/celery/dagster.yaml, a fresh database per test), with every table an Iceberg table whose catalog
is in PostgreSQL and whose warehouse is on an S3 server (moto, loopback). Two `celery worker` processes on different
queues run the demo day (sample site + fake APIs on 127.0.0.1) through songnodes_main_celery and
songnodes_gold_celery.

Without RabbitMQ or Redis the tests skip with the reason, except in CI (CI=true: .ci/run starts both), where
that is a failure."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .pg import PG, pg_environment, temporary_database
from .s3 import AWS_ENV, BUCKET, moto_s3, object_keys

REPO = Path(__file__).resolve().parents[1]
RABBIT = ("127.0.0.1", 5672)
REDIS = ("127.0.0.1", 6379)
DAY = "2024-05-01"
EXPECTED = json.loads((REPO / "songnodes_assets" / "sample_site" / "expected_counts.json").read_text())
CELERY = str(Path(sys.executable).parent / "celery")


def _reachable(addr) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(addr) == 0


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI: .ci/run starts RabbitMQ and Redis)")
    pytest.skip(f"{reason}; CI runs this test")


@pytest.fixture
def rabbit_vhost():
    """A RabbitMQ vhost of this test (queues, messages and all), deleted afterwards."""
    if not _reachable(RABBIT):
        _unavailable(f"no RabbitMQ at {RABBIT[0]}:{RABBIT[1]}")
    # Debian installs rabbitmqctl in /usr/sbin, which a minimal PATH leaves out
    ctl = shutil.which("rabbitmqctl", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if ctl is None:
        _unavailable("rabbitmqctl not found (the test makes a vhost of its own)")
    vhost = f"songnodes_test_{uuid.uuid4().hex[:10]}"
    subprocess.run([ctl, "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    try:
        subprocess.run([ctl, "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                       check=True, capture_output=True, timeout=60)
        yield vhost
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


@pytest.fixture
def redis_db():
    """An empty Redis DB (of 1..15) for the results, flushed afterwards."""
    if not _reachable(REDIS):
        _unavailable(f"no Redis at {REDIS[0]}:{REDIS[1]}")
    import redis

    for n in range(15, 0, -1):
        client = redis.Redis(host=REDIS[0], port=REDIS[1], db=n)
        if client.dbsize() == 0:
            client.set(f"songnodes_test_{uuid.uuid4().hex}", "claimed", ex=600)  # a concurrent test skips this DB
            try:
                yield n
            finally:
                client.flushdb()
                client.close()
            return
    pytest.fail("no empty Redis DB among 1..15")


@pytest.fixture
def celery_home(tmp_path, rabbit_vhost, redis_db):
    """(environment, DAGSTER_HOME) of a celery deployment on this machine: instance = deploy/celery/dagster.yaml
    on a fresh PostgreSQL database; broker = this test's vhost; backend = this test's Redis DB; every table an
    Iceberg table, the catalog in a PostgreSQL database of its own, the warehouse on an S3 server (moto)."""
    with temporary_database("songnodes_celery") as db, temporary_database("songnodes_catalog") as catalog_db, \
            moto_s3() as s3:
        home = tmp_path / "dagster_home"
        home.mkdir(exist_ok=True)
        shutil.copy(REPO / "deploy" / "celery" / "dagster.yaml", home / "dagster.yaml")
        env = {"DAGSTER_HOME": str(home), **pg_environment(db),
               "SONGNODES_CELERY_BROKER": f"amqp://guest:guest@{RABBIT[0]}:{RABBIT[1]}/{rabbit_vhost}",
               "SONGNODES_CELERY_BACKEND": f"redis://{REDIS[0]}:{REDIS[1]}/{redis_db}",
               "SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
               "SONGNODES_CACHE_DIR": str(tmp_path / "cache"),
               "SONGNODES_TABLE_FORMAT": "iceberg", "PGPASSWORD": PG["password"],
               "SONGNODES_ICEBERG_CATALOG": f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{catalog_db}",
               "SONGNODES_ICEBERG_WAREHOUSE": f"s3://{BUCKET}/warehouse", "SONGNODES_S3_ENDPOINT": s3, **AWS_ENV}
        yield env, home


@contextlib.contextmanager
def demo_remotes():
    """(variables pointing every client at them, the fake APIs): the sample site and the fake APIs on
    127.0.0.1, with the settings `songnodes demo` uses."""
    from songnodes_assets.lib.enrich.sources import SOURCES
    from songnodes_assets.sample_site.fake_apis import FakeApis
    from songnodes_assets.sample_site.server import SampleSite

    with SampleSite() as site, FakeApis() as apis:
        base = site.base_url
        env = {"SONGNODES_MIXESDB_BASE_URL": base,
               "SONGNODES_MIXESDB_START_URLS": f"{base}/w/Category:Techno,{base}/w/Special:RecentChanges",
               "SONGNODES_MIN_INTERVAL_S": "0.05", "SONGNODES_JITTER_S": "0.05", **apis.env()}
        for source in SOURCES:
            env[f"SONGNODES_{source.upper()}_MIN_INTERVAL_S"] = "0.01"
        yield env, apis


class Worker:
    """One `celery -A songnodes_assets.defs.celery_worker worker` process (its own session), log in a file."""

    def __init__(self, name: str, queues: str, env: dict, log: Path, concurrency: int = 1):
        self.name, self.log = f"{name}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}", log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in wait_stopped()
        self.proc = subprocess.Popen(
            [CELERY, "-A", "songnodes_assets.defs.celery_worker", "worker", "-Q", queues, "-n", self.name,
             "-c", str(concurrency), "--prefetch-multiplier=1", "-l", "INFO", "--without-gossip", "--without-mingle"],
            env=env, cwd=REPO, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, deadline: float) -> None:
        while " ready." not in self.text():
            assert self.proc.poll() is None, f"worker {self.name} exited:\n{self.text()[-3000:]}"
            assert time.time() < deadline, f"worker {self.name} not ready:\n{self.text()[-3000:]}"
            time.sleep(0.2)

    def children(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def terminate(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def wait_stopped(self, timeout: float = 20) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._out.close()


@contextlib.contextmanager
def workers(env: dict, tmp_path: Path, *specs):
    started = []
    try:
        for name, queues, concurrency in specs:
            started.append(Worker(name, queues, env, tmp_path / f"worker-{name}.log", concurrency))
        deadline = time.time() + 45
        for w in started:
            w.wait_ready(deadline)
        yield started
    except BaseException:
        for w in started:  # what the workers said, for the failure report
            print(f"---- worker {w.name} (last lines)\n" + "\n".join(
                line for line in w.text().splitlines()[-60:] if "WARNING/ForkPoolWorker" not in line))
        raise
    finally:
        for w in started:  # all at once: each takes seconds to shut down
            w.terminate()
        for w in started:
            w.wait_stopped()


@contextlib.contextmanager
def celery_runs(monkeypatch, env: dict):
    """(instance, run): ``run(job_name)`` creates and executes a run of ``job_name`` of the workspace's code
    location, loaded once for every run (as the demo does): this process is the run's orchestrator, the steps go to
    the workers. The orchestrator polls the workers' results every 0.1 s instead of dagster-celery's 1 s tick."""
    import dagster as dg
    import dagster_celery.core_execution_loop

    from songnodes_assets.demo_launch import code_location, run_job

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(dagster_celery.core_execution_loop, "TICK_SECONDS", 0.1)
    with dg.DagsterInstance.get() as instance, code_location(instance) as location:
        yield instance, lambda job_name, partition=DAY: run_job(instance, location, job_name, partition)


def step_workers(run_id: str) -> dict[str, str]:
    """step key -> the celery worker that executed it (from the worker's engine event)."""
    import dagster as dg

    out = {}
    with dg.DagsterInstance.get() as instance:
        for record in instance.all_logs(run_id):
            ev = record.dagster_event
            if ev is not None and ev.is_engine_event and ev.step_key:
                meta = ev.engine_event_data.metadata or {}
                if "Celery worker" in meta:
                    out[ev.step_key] = meta["Celery worker"].value
    return out


def test_queue_tags_and_executors(monkeypatch):
    """Every op of the main and gold selections has the queue of its kind of work; the local jobs keep the
    in-process executor and their pools; SONGNODES_EXECUTOR switches only the jobs that pin no executor."""
    from songnodes_assets.definitions import build_definitions
    from songnodes_assets.defs.scale import QUEUE_TAG

    defs = build_definitions()
    nodes = {j: {n.name: n.definition for n in defs.resolve_job_def(j).nodes_in_topological_order}
             for j in ("songnodes_main", "songnodes_main_celery", "songnodes_gold_celery")}
    queues = {name: op.tags[QUEUE_TAG] for name, op in nodes["songnodes_main"].items()}
    assert queues == {"bronze__raw_scrape_data": "crawl", "silver_tables": "build",
                      **{f"enrichment__{s}": "enrich" for s in ("musicbrainz", "spotify", "lastfm", "discogs",
                                                                "getsongbpm", "acousticbrainz")}}
    assert {op.tags[QUEUE_TAG] for op in nodes["songnodes_gold_celery"].values()} == {"build"}
    assert nodes["songnodes_main"]["bronze__raw_scrape_data"].pool == "mixesdb"
    assert nodes["songnodes_main"]["enrichment__spotify"].pool == "api_spotify"
    assert set(nodes["songnodes_main"]) == set(nodes["songnodes_main_celery"])
    assert {n: defs.resolve_job_def(n).executor_def.name for n in
            ("songnodes_main", "songnodes_gold", "songnodes_main_celery", "songnodes_scrape")} == {
        "songnodes_main": "in_process", "songnodes_gold": "in_process", "songnodes_main_celery": "songnodes_celery",
        "songnodes_scrape": "multi_or_in_process_executor"}
    monkeypatch.setenv("SONGNODES_EXECUTOR", "celery")
    defs = build_definitions()
    assert defs.resolve_job_def("songnodes_scrape").executor_def.name == "songnodes_celery"
    assert defs.resolve_job_def("songnodes_main").executor_def.name == "in_process"
    monkeypatch.setenv("SONGNODES_EXECUTOR", "dask")
    with pytest.raises(ValueError, match="SONGNODES_EXECUTOR"):
        build_definitions()


def test_without_the_scale_extra_the_code_location_loads():
    """dagster-celery is optional: without it the definitions load, and a celery run says what to install."""
    code = ("import sys; sys.modules['dagster_celery'] = None\n"
            "from songnodes_assets.definitions import defs\n"
            "from songnodes_assets.defs import scale\n"
            "defs.resolve_job_def('songnodes_main_celery')\n"
            "try:\n    scale._celery_executor_class()\nexcept Exception as exc:\n    print(exc)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'pip install -e ".[scale]"' in res.stdout


def test_deploy_instance_is_the_postgres_one_plus_celery_notes():
    """deploy/celery/dagster.yaml: the same storage, pools and run monitoring as deploy/postgres (slots of killed
    steps are freed), and no CeleryRunLauncher under the module that lacks it."""
    import yaml

    celery = yaml.safe_load((REPO / "deploy" / "celery" / "dagster.yaml").read_text())
    pg = yaml.safe_load((REPO / "deploy" / "postgres" / "dagster.yaml").read_text())
    for key in ("storage", "concurrency", "run_launcher", "run_monitoring"):
        assert celery[key] == pg[key], key
    assert celery["run_monitoring"]["free_slots_after_run_end_seconds"] > 0


@contextlib.contextmanager
def holding(apis, source: str, after: int):
    """The fake API holds each request to ``source`` after its first ``after`` until ``release`` is set, then drops
    it unanswered: while a request is held, the step asking ``source`` is certainly in the middle of its work.
    Yields (held: set once a request is held, the client ports of the held requests, release)."""
    held, release, ports = threading.Event(), threading.Event(), []
    handle = apis._handle

    def hold(h, method):
        if not release.is_set() and urlsplit(h.path).path.strip("/").split("/", 1)[0] == source \
                and len(apis.log[source]) >= after:
            ports.append(h.client_address[1])
            held.set()
            release.wait(120)
            h.close_connection = True  # its asker is gone
            return None
        return handle(h, method)

    apis._handle = hold
    try:
        yield held, ports, release
    finally:
        release.set()
        del apis._handle  # the class's own again


def _owner_of_port(port: int, pids: list[int]) -> int | None:
    """The process among ``pids`` holding the TCP socket whose local port is ``port``."""
    sockets = {f"socket:[{f[9]}]" for f in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
               if int(f[1].rsplit(":", 1)[1], 16) == port}
    for pid in pids:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in sockets for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
    return None


@pytest.mark.timeout(300)
def test_demo_day_on_celery_workers_a_killed_step_fails_the_run_cleanly_and_the_rerun_completes(
        celery_home, tmp_path, monkeypatch):
    """The demo day on two workers, whose first run loses the worker process executing enrichment/spotify (SIGKILL
    while the fake API holds one of its requests, once acousticbrainz, the run's last step, has started on the
    other process). That run fails (WorkerLostError) instead of hanging, the other steps finish, the spotify
    partition is its old snapshot (none: no file, no staged leftover) and every other table is complete; the killed
    step's pool slot stays claimed (README trap) until it is freed as run monitoring does
    (free_slots_after_run_end_seconds). The re-run of the main job and the gold job then succeed, every step on the
    worker of its queue, with the local demo's counts."""
    import dagster as dg

    from songnodes_assets.lib.catalog import table_counts
    from songnodes_assets.lib.iceberg_lakehouse import open_lake
    from songnodes_assets.lib.schemas import ENRICHMENT

    env, _home = celery_home
    with demo_remotes() as (remotes, apis):
        env = {**env, **remotes}
        worker_env = {**os.environ, **env}
        with workers(worker_env, tmp_path, ("crawlbuild", "crawl,build", 1), ("enrich", "enrich", 2)) as (wa, wb), \
                celery_runs(monkeypatch, env) as (instance, run):
            killed: list[int] = []
            with holding(apis, "spotify", after=5) as (held, ports, release):

                def kill_the_spotify_process():
                    deadline = time.time() + 120
                    while not (held.is_set() and apis.log["acousticbrainz"]) and time.time() < deadline:
                        time.sleep(0.05)
                    pid = _owner_of_port(ports[-1], wb.children()) if ports else None
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    release.set()

                killer = threading.Thread(target=kill_the_spotify_process, daemon=True)
                killer.start()
                started = time.monotonic()
                first = run("songnodes_main_celery")
                failed_after = time.monotonic() - started
                release.set()
                killer.join(5)
            assert killed, f"no worker process held the spotify step's connection (held: {ports})"
            assert not first.success
            asked_before = len(apis.log["spotify"])
            assert instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE
            (failure,) = instance.all_logs(first.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            error = failure.dagster_event.event_specific_data.error.to_string()
            assert "[enrichment__spotify]: billiard.exceptions.WorkerLostError" in error, error[-2000:]
            done = {r.dagster_event.step_key for r in instance.all_logs(
                first.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
            assert done == {"bronze__raw_scrape_data", "silver_tables",
                            *(f"enrichment__{s}" for s in ("musicbrainz", "lastfm", "discogs", "getsongbpm",
                                                           "acousticbrainz"))}, done
            # the old snapshot of the killed step's table (none yet) and complete new ones for the rest
            lake = open_lake(env["SONGNODES_LAKEHOUSE_ROOT"])
            assert lake.table_format == "iceberg"
            assert lake.files(ENRICHMENT["spotify"]) == [] and lake.partitions(ENRICHMENT["spotify"]) == []
            assert not [k for k in object_keys(env["SONGNODES_S3_ENDPOINT"]) if "/spotify/data/" in k]
            counts = table_counts(lake)
            assert counts == {**EXPECTED, "enrichment.spotify": 0, "gold.enriched_tracks": 0,
                              "gold.transition_graph": 0}, counts
            # trap: the killed step never reported its end, so its slot stays claimed by the failed run
            claims = instance.event_log_storage.get_concurrency_info("api_spotify").claimed_slots
            assert [(c.run_id, c.step_key) for c in claims] == [(first.run_id, "enrichment__spotify")]
            # what the daemon's run monitoring does free_slots_after_run_end_seconds after the run ended
            instance.event_log_storage.free_concurrency_slots_for_run(first.run_id)
            started = time.monotonic()
            main = run("songnodes_main_celery")
            assert main.success, main.failures
            main_s = time.monotonic() - started
            gold = run("songnodes_gold_celery")
            assert gold.success, gold.failures
            # gold read the four silver tables at the snapshots silver's build recorded, not whatever is current
            said = [r.user_message for r in instance.all_logs(gold.run_id) if "reading silver as built" in r.user_message]
            assert said and main.run_id in said[0], said
            print(f"killed run failed after {failed_after:.1f} s (spotify asked {asked_before} times before the "
                  f"kill); re-run: main {main_s:.1f} s, main + gold {time.monotonic() - started:.1f} s")
    ran = {**step_workers(main.run_id), **step_workers(gold.run_id)}
    # every step on a worker, each on the worker of its queue
    assert ran["bronze__raw_scrape_data"] == wa.name and ran["silver_tables"] == wa.name, ran
    assert {ran[k] for k in ran if k.startswith("enrichment__")} == {wb.name}, ran
    assert len([k for k in ran if k.startswith("enrichment__")]) == 6, ran
    assert {ran[k] for k in ran if k.startswith("gold__")} == {wa.name} and len(ran) == 16, ran
    # the same tables as the local demo, every one an Iceberg table on S3 (only the graph's exports are local files)
    assert table_counts(lake) == EXPECTED
    keys = object_keys(env["SONGNODES_S3_ENDPOINT"], "warehouse/")
    for name in EXPECTED:
        layer, table = name.split(".")
        assert any(k.startswith(f"warehouse/{layer}/{table}/data/") and k.endswith(".parquet") for k in keys), name
    local = sorted(str(p.relative_to(lake.root)) for p in lake.root.rglob("*") if p.is_file())
    assert all(p.startswith(("gold/transition_graph/", "_index/")) for p in local), local
