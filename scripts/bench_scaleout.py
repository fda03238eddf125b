"""Benchmark (not a test): the same N demo days on the local default and on the scale-out path, and two workers
per API source against one quota.

    .venv/bin/python scripts/bench_scaleout.py --days 3

1. **Local default**: ``songnodes demo --date D`` for each of N days in one fresh home (parquet folder, SQLite
   instance, in-process executor), as a user runs it. Wall time of the N runs; peak RSS of the process tree.
2. **Scale-out**: the same N days through ``songnodes_main_celery`` + ``songnodes_gold_celery`` on two celery
   workers (queues ``crawl,build`` and ``enrich``, concurrency 1 and 2) with RabbitMQ as broker (a vhost of its
   own), Redis as result backend (an empty DB), the Dagster instance in PostgreSQL (deploy/celery/dagster.yaml),
   every table an Iceberg table with its catalog in PostgreSQL and its warehouse on an S3 server (moto on
   loopback). Wall time of the N days (workers already started); peak RSS summed over the orchestrator and the
   workers' process trees (sampled every 0.1 s).
   Both paths fetch from the same sample site and fake APIs with the demo's intervals; each ends with the
   row counts of every table, which must be equal.
3. **Two workers per source, one quota**: for each API source, two processes ("hosts", own cache dirs) send
   --requests each through the real ApiClient with the PostgreSQL shared state, at the source's documented
   interval; the fake API's arrival times give the combined rate, compared with the quota (1 / interval).

Needs the machine's PostgreSQL, RabbitMQ and Redis on loopback (as CI) and the ``scale`` and ``test`` extras.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc (Linux)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Peak of the summed RSS of some processes and all their descendants, sampled every 0.1 s."""

    def __init__(self, pids):
        self.pids, self.peak, self._stop = pids, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        return sum(_rss(p) for p in {q for pid in self.pids() for q in _tree(pid)})

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def _days(n: int) -> list[str]:
    first = dt.date.today() - dt.timedelta(days=n)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(n)]


def local_default(days: list[str], work: Path) -> dict:
    home = work / "local"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONGNODES_", "DAGSTER_"))}
    songnodes = str(Path(sys.executable).parent / "songnodes")
    started, procs = time.monotonic(), []
    with PeakRss(lambda: [p.pid for p in procs if p.poll() is None]) as rss:
        for day in days:
            proc = subprocess.Popen([songnodes, "demo", "--date", day, "--home", str(home)], env=env, cwd=work,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(proc)
            out, _ = proc.communicate(timeout=900)
            if proc.returncode != 0:
                raise SystemExit(f"local demo {day} failed:\n{out[-3000:]}")
    wall = time.monotonic() - started
    from songnodes_assets.lib.catalog import table_counts

    return {"wall_s": wall, "peak_rss_mb": rss.peak / 2**20, "counts": table_counts(home / "lakehouse")}


@contextlib.contextmanager
def _rabbit_vhost():
    ctl = shutil.which("rabbitmqctl", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    vhost = f"songnodes_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run([ctl, "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run([ctl, "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                   capture_output=True, timeout=60)
    try:
        yield vhost
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


@contextlib.contextmanager
def _redis_db():
    import redis

    for n in range(15, 0, -1):
        client = redis.Redis(host="127.0.0.1", port=6379, db=n)
        if client.dbsize() == 0:
            client.set("songnodes_bench", "claimed", ex=3600)
            try:
                yield n
            finally:
                client.flushdb()
            return
    raise SystemExit("no empty Redis DB among 1..15")


def scale_out(days: list[str], work: Path) -> dict:
    import pytest

    from songnodes_assets_tests.pg import PG, pg_environment, temporary_database
    from songnodes_assets_tests.s3 import AWS_ENV, BUCKET, moto_s3
    from songnodes_assets_tests.test_celery_execution import celery_runs, demo_remotes, workers

    home = work / "celery" / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "deploy" / "celery" / "dagster.yaml", home / "dagster.yaml")
    with temporary_database("songnodes_bench") as db, temporary_database("songnodes_bench_catalog") as cat, \
            moto_s3() as s3, _rabbit_vhost() as vhost, _redis_db() as redis_db, demo_remotes() as (remotes, _apis):
        env = {"DAGSTER_HOME": str(home), **pg_environment(db), **remotes, **AWS_ENV,
               "SONGNODES_CELERY_BROKER": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
               "SONGNODES_CELERY_BACKEND": f"redis://127.0.0.1:6379/{redis_db}",
               "SONGNODES_LAKEHOUSE_ROOT": str(work / "celery" / "lakehouse"),
               "SONGNODES_CACHE_DIR": str(work / "celery" / "cache"), "SONGNODES_TABLE_FORMAT": "iceberg",
               "PGPASSWORD": PG["password"],
               "SONGNODES_ICEBERG_CATALOG": f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{cat}",
               "SONGNODES_ICEBERG_WAREHOUSE": f"s3://{BUCKET}/warehouse", "SONGNODES_S3_ENDPOINT": s3,
               "SONGNODES_PARTITIONS_START": days[0]}
        mp_ = pytest.MonkeyPatch()
        try:
            with workers({**os.environ, **env}, work, ("crawlbuild", "crawl,build", 1), ("enrich", "enrich", 2)) as ws, \
                    celery_runs(mp_, env) as (_instance, run):
                started = time.monotonic()
                with PeakRss(lambda: [os.getpid(), *(w.proc.pid for w in ws)]) as rss:
                    for day in days:
                        for job in ("songnodes_main_celery", "songnodes_gold_celery"):
                            result = run(job, day)
                            if not result.success:
                                raise SystemExit(f"{job} {day} failed: {result.failures}")
                wall = time.monotonic() - started
                from songnodes_assets.lib.catalog import table_counts
                from songnodes_assets.lib.iceberg_lakehouse import open_lake

                counts = table_counts(open_lake(env["SONGNODES_LAKEHOUSE_ROOT"]))
        finally:
            mp_.undo()
    return {"wall_s": wall, "peak_rss_mb": rss.peak / 2**20, "counts": counts}


def _rate_worker(url, cache_dir, source, base, interval, n, tag, ready, go, out):
    from songnodes_assets.lib.enrich.api_client import ApiClient, ApiError, RetryPolicy
    from songnodes_assets.lib.enrich.state_backend import open_state

    state = open_state(url, cache_dir)
    client = ApiClient(source, base, limiter=state.limiter(source, interval), cache=state.cache(),
                       health=state.health(), user_agent="SongNodesBench/1", policy=RetryPolicy(max_tries=1),
                       breaker_fail_max=10**6)
    ready.put(tag)
    go.wait(60)
    for i in range(n):
        with contextlib.suppress(ApiError):  # any answer is a request the quota counts
            client.get_json("/bench", {"q": f"{tag}-{i}-{uuid.uuid4().hex}"}, ttl_for=lambda status, body: 0.0)
    state.close()
    out.put(tag)


def two_workers_per_source(n: int) -> list[dict]:
    from songnodes_assets.lib.enrich.sources import SOURCES
    from songnodes_assets.sample_site.fake_apis import FakeApis
    from songnodes_assets_tests.pg import PG, temporary_database

    rows = []
    with temporary_database("songnodes_bench_state") as db, FakeApis() as apis, \
            tempfile.TemporaryDirectory() as tmp:
        url = f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{db}"
        os.environ["PGPASSWORD"] = PG["password"]
        for name, cls in SOURCES.items():
            interval = cls.default_interval_s
            ctx = mp.get_context("spawn")
            ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_rate_worker, args=(url, Path(tmp) / f"{name}-host{k}", name,
                                                            apis.base_url_for(name), interval, n, f"w{k}", ready,
                                                            go, out)) for k in range(2)]
            for p in procs:
                p.start()
            for _ in procs:
                ready.get(timeout=120)
            go.set()
            for _ in procs:
                out.get(timeout=120 + 3 * n * interval)
            for p in procs:
                p.join(30)
            times = sorted(t for t, _ in apis.log[name])
            apis.log[name].clear()
            rate = (len(times) - 1) / (times[-1] - times[0])
            gaps = [b - a for a, b in zip(times, times[1:])]
            rows.append({"source": name, "interval_s": interval, "quota_rps": 1 / interval, "requests": len(times),
                         "combined_rps": rate, "share_of_quota": rate * interval, "min_gap_s": min(gaps)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--requests", type=int, default=8, help="requests per worker per source (part 3)")
    ap.add_argument("--skip-rate", action="store_true", help="skip part 3")
    args = ap.parse_args()
    days = _days(args.days)
    with tempfile.TemporaryDirectory(prefix="songnodes-bench-scaleout-") as tmp:
        work = Path(tmp)
        local = local_default(days, work)
        celery = scale_out(days, work)
    print(f"{args.days} days ({days[0]} .. {days[-1]}), the same sample site and fake APIs:")
    print(f"{'path':<44} {'wall s':>8} {'peak RSS MB':>12}")
    print(f"{'local default (parquet, in-process)':<44} {local['wall_s']:>8.1f} {local['peak_rss_mb']:>12.0f}")
    print(f"{'celery x2 workers + Iceberg on S3 + PG':<44} {celery['wall_s']:>8.1f} {celery['peak_rss_mb']:>12.0f}")
    same = local["counts"] == celery["counts"]
    print(f"row counts equal: {same}  {celery['counts'] if same else (local['counts'], celery['counts'])}")
    if not args.skip_rate:
        print(f"\ntwo workers per source, PostgreSQL shared state, {args.requests} requests each:")
        print(f"{'source':<16} {'quota req/s':>11} {'combined req/s':>15} {'share':>7} {'min gap ms':>11}")
        for r in two_workers_per_source(args.requests):
            print(f"{r['source']:<16} {r['quota_rps']:>11.2f} {r['combined_rps']:>15.2f} {r['share_of_quota']:>7.2f} "
                  f"{r['min_gap_s'] * 1000:>11.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
