"""Scale-out wiring: steps on Celery workers (RabbitMQ broker, Redis result backend), one queue per kind of work.

- ``with_queues(assets)`` gives every asset op the ``dagster-celery/queue`` tag of its kind of work: ``crawl``
  (bronze: MixesDB, 1001tracklists, the old database), ``enrich`` (the API sources), ``build`` (silver, gold).
  Only the celery executor reads the tag; the local jobs run exactly as before. An asset that sets the tag
  itself (``op_tags``) keeps its own.
- ``songnodes_main_celery`` / ``songnodes_gold_celery``: the selections of ``songnodes_main`` / ``songnodes_gold``
  on the celery executor. ``SONGNODES_EXECUTOR=celery`` also makes it the default executor of every job that
  does not pin one (the schedule's, the sensors', declarative automation's), never of the two local jobs.
- The broker and backend are read from ``SONGNODES_CELERY_BROKER`` / ``SONGNODES_CELERY_BACKEND`` when a run
  starts (not when the code loads), so a password in them is never part of a definition, a snapshot or a run.
- Queues place work; pools (``mixesdb``, ``api_<source>``, one slot each) stay the rate limit: the run process
  claims a step's pool slot before it sends the step to a queue, so a step waiting for its slot holds no worker.

dagster-celery is the optional extra ``scale`` (``pip install -e ".[scale]"``); it is imported only when a
celery run starts, so the code location loads without it. Workers: ``songnodes_assets.defs.celery_worker``."""

from __future__ import annotations

import copy
import os

import dagster as dg
from dagster._core.execution.retries import RetryMode, get_retries_config

from ..settings import env_str
from .jobs import GOLD_JOB_NAME, MAIN_JOB_NAME, gold_job, main_job

QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG
QUEUE_BY_GROUP = {"bronze": "crawl", "enrichment": "enrich"}
DEFAULT_QUEUE = "build"  # silver, gold, anything new

DEFAULT_BROKER = "amqp://guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "redis://127.0.0.1:6379/0"
# dagster-celery's defaults (prefetch 1: a worker takes one step at a time) plus no warning at worker start
CELERY_CONFIG = {"broker_connection_retry_on_startup": True}
EXECUTORS = ("", "in_process", "multiprocess", "celery")


def broker_url() -> str:
    return env_str("SONGNODES_CELERY_BROKER", DEFAULT_BROKER)


def backend_url() -> str:
    return env_str("SONGNODES_CELERY_BACKEND", DEFAULT_BACKEND)


def queue_for(assets_def: dg.AssetsDefinition) -> str:
    groups = {assets_def.group_names_by_key[key] for key in assets_def.keys}
    queues = {QUEUE_BY_GROUP.get(g, DEFAULT_QUEUE) for g in groups}
    return queues.pop() if len(queues) == 1 else DEFAULT_QUEUE


def with_queues(assets: list) -> list:
    """The same assets, each op tagged with its queue (AssetSpecs without an op are returned as they are)."""
    out = []
    for a in assets:
        if not isinstance(a, dg.AssetsDefinition) or not a.is_executable or QUEUE_TAG in a.op.tags:
            out.append(a)
            continue
        # Dagster has no public way to add an op tag to a built asset: copy its op with the tag added (every
        # other property - compute fn, pool, retry policy, code version - is the original's) and rebuild the
        # AssetsDefinition from its own attributes, as AssetsDefinition.with_attributes does.
        op = copy.copy(a.op)
        op._tags = {**a.op.tags, QUEUE_TAG: queue_for(a)}  # noqa: SLF001
        out.append(a.__class__.dagster_internal_init(**{**a.get_attributes_dict(), "node_def": op}))
    return out


def celery_executor_args(retries: RetryMode = RetryMode.ENABLED) -> dict:
    """The arguments of dagster-celery's CeleryExecutor from the environment."""
    return {"broker": broker_url(), "backend": backend_url(), "config_source": dict(CELERY_CONFIG),
            "include": [], "retries": retries}


def _celery_executor_class():
    try:
        from dagster_celery.executor import CeleryExecutor
    except ImportError as exc:  # the optional extra
        raise dg.DagsterInvariantViolationError(
            'the celery executor needs dagster-celery: pip install -e ".[scale]"') from exc
    return CeleryExecutor


@dg.executor(name="songnodes_celery", config_schema={"retries": get_retries_config()},
             requirements=dg.multiple_process_executor_requirements())
def songnodes_celery_executor(init_context: dg.InitExecutorContext):
    """dagster-celery's executor with the broker and backend of SONGNODES_CELERY_BROKER / _BACKEND (defaults:
    RabbitMQ and Redis on 127.0.0.1). Each step runs on a worker listening on the step's queue."""
    return _celery_executor_class()(**celery_executor_args(RetryMode.from_config(
        init_context.executor_config["retries"])))


main_celery_job = dg.define_asset_job(
    f"{MAIN_JOB_NAME}_celery", selection=main_job.selection, executor_def=songnodes_celery_executor,
    description=f"{MAIN_JOB_NAME} on Celery workers (queues crawl, enrich, build; README: Scaling out).")
gold_celery_job = dg.define_asset_job(
    f"{GOLD_JOB_NAME}_celery", selection=gold_job.selection, executor_def=songnodes_celery_executor,
    description=f"{GOLD_JOB_NAME} on Celery workers (queue build; README: Scaling out).")
celery_jobs = [main_celery_job, gold_celery_job]


def default_executor() -> dg.ExecutorDefinition | None:
    """SONGNODES_EXECUTOR: the executor of the jobs that pin none (unset: Dagster's default)."""
    name = os.environ.get("SONGNODES_EXECUTOR", "").strip().lower()
    if name not in EXECUTORS:
        raise ValueError(f"SONGNODES_EXECUTOR={name!r}: expected one of {', '.join(e for e in EXECUTORS if e)}")
    return {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor,
            "celery": songnodes_celery_executor}.get(name)
