"""Dagster's default run launcher, plus a run worker health check so run monitoring fails a run whose
process is gone within one poll interval (SIGKILL, OOM kill, a crash after losing the instance database)
instead of after ``max_runtime_seconds``: its pool slot is free again within minutes, not hours.

The check is local: the run worker (or the in-process executor) that wrote the run's RUN_START event must
still exist on this host. Use it where the daemon and the code servers share a host, as with the default
launcher; elsewhere keep ``max_runtime_seconds`` as the backstop."""

from __future__ import annotations

from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher

from .instance_care import process_alive, run_worker_pid


class HealthCheckedRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        pid = run_worker_pid(self._instance, run.run_id)
        if pid is None:  # not started yet: the start timeout of run monitoring covers it
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no run worker process recorded yet")
        if process_alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker process {pid} is gone (killed or crashed)",
                                    run_worker_id=str(pid))
