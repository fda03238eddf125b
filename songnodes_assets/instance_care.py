"""Care of a local Dagster instance before the demo uses it: a run whose process is gone (SIGKILL, OOM,
reboot) is failed and its pool slots freed, so the next run proceeds at once instead of waiting for ever
for a slot nobody will give back; a slot held by a live run is reported, never waited on silently."""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import dagster as dg

IN_PROGRESS = (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING)


@dataclass(frozen=True)
class Holder:
    pool: str
    run_id: str
    step_key: str
    pid: int | None
    alive: bool


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process executing the run: the one that wrote its RUN_START (a run worker launched by the daemon or
    the webserver, or the process of ``execute_in_process``); None before the run started."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START):
        pid = record.dagster_event.pid if record.dagster_event is not None else None
        if pid:
            return int(pid)
    return None


def process_alive(pid: int | None) -> bool:
    """Whether a process of this id exists on this host (a zombie child counts as gone)."""
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            if fh.read().rsplit(")", 1)[-1].split()[0] == "Z":
                return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def slot_holders(instance: dg.DagsterInstance) -> list[Holder]:
    out = []
    storage = instance.event_log_storage
    for pool in sorted(storage.get_concurrency_keys()):
        for claim in storage.get_concurrency_info(pool).claimed_slots:
            pid = run_worker_pid(instance, claim.run_id)
            out.append(Holder(pool, claim.run_id, claim.step_key, pid, process_alive(pid) and pid != os.getpid()))
    return out


def release_dead_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Fail every in-progress run whose process no longer exists and free its pool slots; returns their ids."""
    released = []
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_PROGRESS)))
    dead_ids = set()
    for r in runs:  # a run still STARTING (no RUN_START yet) is left to run monitoring's start timeout
        pid = run_worker_pid(instance, r.run_id)
        if pid is not None and pid != os.getpid() and not process_alive(pid):
            dead_ids.add(r.run_id)
    for h in slot_holders(instance):
        run = instance.get_run_by_id(h.run_id)
        if run is None or run.is_finished or (h.pid is not None and not h.alive and h.pid != os.getpid()):
            dead_ids.add(h.run_id)
    for run_id in sorted(dead_ids):
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in IN_PROGRESS:
            instance.report_run_failed(run, message="songnodes: the process of this run is gone (killed or crashed); "
                                                    "failed so that its pool slots are free again")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        log(f"released run {run_id}: its process is gone; pool slots freed")
        released.append(run_id)
    return released


def live_holders(instance: dg.DagsterInstance, pools: set[str]) -> list[Holder]:
    return [h for h in slot_holders(instance) if h.alive and h.pool in pools]


@contextlib.contextmanager
def home_lock(dagster_home: Path, log: Callable[[str], None] = print) -> Iterator[None]:
    """One demo at a time per Dagster home (two processes initialising one SQLite instance at once corrupt
    its schema history): the second waits, saying so."""
    path = Path(dagster_home) / ".songnodes_demo.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another `songnodes demo` is using {dagster_home}; waiting for it to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
