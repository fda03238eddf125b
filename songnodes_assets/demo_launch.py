"""Demo runs that belong to the workspace's code location, as if launched from the UI.

``execute_in_process`` records a run with no origin (``repositoryOrigin: null``): the UI's Overview
timeline and job sparklines leave it out, and "Re-execute" warns that the job may be a different version.
Here the demo loads the code location that ``workspace.yaml`` names (same location name, same repository,
so the same job snapshots as ``dagster dev``) in this process, creates each run from that location's job
(``remote_job_origin``, ``job_code_origin``, partition tags from the repository, as ``dagster job launch``
and the webserver's launchRun do) and executes it here with ``execute_run``. The stored origin is an
in-process origin under the workspace location's name; the UI, re-execution and run status sensors match a
run to its job by location name, repository name and job snapshot id, all three the workspace's.

In this process, not through a code server and a run worker: the definitions see the environment the demo
has just set (the sample site's and fake APIs' base URLs), they load once instead of three times, and a
killed demo takes its run with it (the next demo releases its slots). Import this module's functions only
after that environment is set: the code location imports ``songnodes_assets.definitions``, whose resources
read it at import time."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

WORKSPACE_YAML = Path(__file__).resolve().parents[1] / "workspace.yaml"
MODULE, ATTRIBUTE = "songnodes_assets.definitions", "defs"


def workspace_location():
    """(location name, LoadableTargetOrigin) of the code location workspace.yaml names for
    ``songnodes_assets.definitions`` (the one ``dagster dev`` serves), its working directory resolved
    against the file; without the file (a non-editable install) the name such an entry would get."""
    from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load import location_origin_from_module_name
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    origins = []
    if WORKSPACE_YAML.is_file():
        origins = [o for o in WorkspaceFileTarget(paths=[str(WORKSPACE_YAML)]).create_origins()
                   if isinstance(o, ManagedGrpcPythonEnvCodeLocationOrigin)
                   and o.loadable_target_origin.module_name == MODULE]
    origin = origins[0] if origins else location_origin_from_module_name(MODULE, ATTRIBUTE, working_directory=None)
    workdir = origin.loadable_target_origin.working_directory
    if workdir is not None and not Path(workdir).is_absolute():
        workdir = str((WORKSPACE_YAML.parent / workdir).resolve())
    return origin.location_name, LoadableTargetOrigin(
        executable_path=sys.executable, module_name=MODULE, attribute=origin.loadable_target_origin.attribute,
        working_directory=workdir)


@contextlib.contextmanager
def code_location(instance) -> Iterator:
    """The workspace's code location, loaded in this process under the workspace's location name."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin

    name, target = workspace_location()
    # imported earlier in this process (before the demo's environment was set): its resources would hold
    # the old base URLs, so it is imported afresh
    sys.modules.pop(MODULE, None)
    with InProcessCodeLocationOrigin(target, location_name=name).create_location(instance) as location:
        yield location


@dataclass
class DemoRun:
    run_id: str
    job_name: str
    success: bool
    failures: list[str] = field(default_factory=list)


def run_job(instance, location, job_name: str, partition: str) -> DemoRun:
    """Create the run of ``job_name`` for one partition from the code location's job (its origin, snapshot
    and execution plan; partition tags from the repository) and execute it in this process."""
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_representation.external_data import PartitionExecutionErrorSnap
    from dagster._utils.merger import merge_dicts
    from dagster._utils.tags import normalize_tags

    (repo_name,) = location.get_repository_names()
    repo = location.get_repository(repo_name)
    remote_job = location.get_job(JobSubsetSelector(location_name=location.name, repository_name=repo_name,
                                                    job_name=job_name, op_selection=None))
    partition_tags = location.get_partition_tags_from_repo(repo.handle, job_name, partition, instance)
    if isinstance(partition_tags, PartitionExecutionErrorSnap):
        raise RuntimeError(f"partition {partition!r} of {job_name}: {partition_tags.error.to_string()}")
    tags = normalize_tags(merge_dicts(remote_job.tags, partition_tags.tags))
    plan = location.get_execution_plan(remote_job, {}, step_keys_to_execute=None, known_state=None,
                                       instance=instance).execution_plan_snapshot
    run = instance.create_run(
        job_name=job_name, run_id=None, run_config={}, status=None, tags=tags, root_run_id=None,
        parent_run_id=None, step_keys_to_execute=plan.step_keys_to_execute, execution_plan_snapshot=plan,
        job_snapshot=remote_job.job_snapshot, parent_job_snapshot=remote_job.parent_job_snapshot,
        asset_selection=None, asset_check_selection=None, resolved_op_selection=remote_job.resolved_op_selection,
        op_selection=None, remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(), asset_graph=repo.asset_graph)
    result = execute_run(location.get_reconstructable_job(repo_name, job_name), run, instance)
    failures = [ev.message or "" for ev in result.all_events if ev.is_failure]
    return DemoRun(run.run_id, job_name, result.success, failures)
