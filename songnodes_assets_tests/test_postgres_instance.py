"""The production instance: deploy/postgres/dagster.yaml on the real PostgreSQL server (127.0.0.1:5432).

Skipped with a reason on a machine without a reachable server, except in CI (CI=true), where
.ci/run starts PostgreSQL and this test must run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .pg import PG, pg_environment, temporary_database

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg_database():
    with temporary_database("songnodes_test") as name:
        yield name


def test_materialisation_on_the_postgres_instance(pg_database, tmp_path):
    import psycopg2

    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), **pg_environment(pg_database)}
    bin_dir = Path(sys.executable).parent
    migrate = subprocess.run([str(bin_dir / "dagster"), "instance", "migrate"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    demo = subprocess.run([sys.executable, "-m", "songnodes_assets.cli", "demo", "--home", str(tmp_path / "home"),
                           "--date", "2024-05-01"], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "silver.tracks" in demo.stdout
    with psycopg2.connect(dbname=pg_database, **PG) as con, con.cursor() as cur:
        cur.execute("SELECT pipeline_name, status FROM runs ORDER BY create_timestamp")
        runs = cur.fetchall()
        assert ("songnodes_main", "SUCCESS") in runs and ("songnodes_gold", "SUCCESS") in runs
        cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
        assert cur.fetchone()[0] >= 12  # bronze, 4 silver, 6 enrichment, gold...
        cur.execute("SELECT asset_key FROM asset_keys")
        keys = {r[0] for r in cur.fetchall()}
        assert '["bronze", "raw_scrape_data"]' in keys and '["gold", "enriched_tracks"]' in keys
    # the embedded instance of the demo was not used: nothing was written there
    assert not (tmp_path / "home" / "dagster_home").exists()
