"""The Celery app of the workers: ``celery -A songnodes_assets.defs.celery_worker worker -Q crawl,enrich,build``.

Same broker, backend and settings as the run's executor (``SONGNODES_CELERY_BROKER`` / ``_BACKEND``, read here
at worker start), and dagster-celery's task that executes one step: nothing is written to disk, unlike
``dagster-celery worker start``, which writes the broker URL into a new module under $DAGSTER_HOME per start.
A worker rebuilds each step's job from the run's code origin, so it needs this package installed (same
version) and the same SONGNODES_* variables (lakehouse, cache, API keys, SONGNODES_PG_*) as the run."""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from .scale import celery_executor_args

app = make_app({k: v for k, v in celery_executor_args().items() if k != "retries"})
execute_plan = create_task(app)
