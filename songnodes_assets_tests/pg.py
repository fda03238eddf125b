"""The local PostgreSQL server for tests (127.0.0.1:5432, trust auth). Without one, tests skip with a
reason, except in CI (CI=true), where .ci/run starts it and a missing server is a failure."""

import contextlib
import os
import uuid

import pytest

PG = {"host": os.environ.get("SONGNODES_TEST_PG_HOST", "127.0.0.1"),
      "port": int(os.environ.get("SONGNODES_TEST_PG_PORT", "5432")),
      "user": os.environ.get("SONGNODES_TEST_PG_USER", "postgres"),
      "password": os.environ.get("SONGNODES_TEST_PG_PASSWORD", "")}


def admin_connection():
    import psycopg2

    try:
        con = psycopg2.connect(dbname="postgres", connect_timeout=5, **PG)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {PG['host']}:{PG['port']} ({exc}); CI runs this test")
    con.autocommit = True
    return con


@contextlib.contextmanager
def temporary_database(prefix: str):
    """A fresh database, dropped afterwards (connections to it terminated first)."""
    admin = admin_connection()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def pg_environment(db_name: str) -> dict[str, str]:
    """The SONGNODES_PG_* variables deploy/postgres/dagster.yaml reads, pointing at ``db_name`` on the test server."""
    return {"SONGNODES_PG_HOST": PG["host"], "SONGNODES_PG_PORT": str(PG["port"]), "SONGNODES_PG_USER": PG["user"],
            "SONGNODES_PG_PASSWORD": PG["password"], "SONGNODES_PG_DB": db_name}
