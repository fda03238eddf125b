"""The enrichment API state on PostgreSQL (``SONGNODES_STATE_URL=postgresql://user@host:port/db``), shared
by every worker host: the rate-limit schedule, the response cache and source health, in the schema
``songnodes_state`` (created idempotently, under an advisory lock, only when a table is missing).

- **Limiter**: each transaction locks the source's row (``SELECT … FOR UPDATE``; a missing row is
  inserted first, so the first two callers cannot both see "no row") and reads the *server's* clock
  (``clock_timestamp()``) after the lock, so hosts whose clocks differ still space their sends: the
  reservation and the confirm-against-previous-send step of ``ratelimit.RateLimiter`` are each one
  transaction here, exactly as on SQLite.
- **Cache** and **health**: plain upserts; TTLs use the caller's clock like the SQLite store.

One connection per ``PgState`` (shared by the limiter, cache and health of one client, behind a lock). A
server that cannot be reached, or that fails a statement, raises ``StateUnavailable`` naming the setting
and the server (never the password, which the URL may not hold anyway): the limiter's caller fails,
the cache and health warn once and carry on, exactly as with a full disk; nothing falls back to local
files. A lost connection is reopened once per call.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from .cache import ResponseCache
from .health import COLUMNS as HEALTH_COLUMNS
from .health import SourceHealth
from .ratelimit import RateLimiter

LOG = logging.getLogger(__name__)
T = TypeVar("T")
SCHEMA = "songnodes_state"
TABLES = ("slots", "responses", "health")
DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.slots (key text PRIMARY KEY, next_free double precision)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.responses (source text NOT NULL, key text NOT NULL, status integer NOT NULL, "
    "body text NOT NULL, stored_at double precision NOT NULL, expires_at double precision NOT NULL, "
    "PRIMARY KEY (source, key))",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.health (source text PRIMARY KEY, breaker_state text, "
    "opened_at double precision, closed_at double precision, last_success_at double precision, "
    "last_failure_at double precision)",
)
_DDL_LOCK = 0x736F6E67_73746174  # "songstat": one creator at a time (CREATE … IF NOT EXISTS races otherwise)
_abandoned: list = []  # connections inherited over fork: never closed here (that would end the parent's session)


class StateUnavailable(ConnectionError):
    """The shared state database cannot be reached or failed a statement (an OSError, like a full disk)."""


def describe(url: str) -> str:
    """``postgresql://user@host:port/db`` without any password or query: safe for messages."""
    p = urlsplit(url)
    user = f"{p.username}@" if p.username else ""
    host = f"[{p.hostname}]" if p.hostname and ":" in p.hostname else p.hostname
    return f"{p.scheme}://{user}{host}:{p.port or 5432}{p.path}"


class PgState:
    """The PostgreSQL backend: ``limiter(key, interval_s)``, ``cache()``, ``health()`` (see ``state_backend``)."""

    kind = "postgresql"

    def __init__(self, url: str, log: Callable[[str], None] | None = None, connect_timeout_s: float = 5.0):
        self.url = url
        self.where = describe(url)
        self.warn = log or LOG.warning
        self._timeout = max(1, int(connect_timeout_s))
        self._lock = threading.Lock()
        self._con = None
        self._pid = None
        self.run(self._create_schema)  # reach the server now: an unreachable one fails here, naming it

    # ---- the three stores -----------------------------------------------------------------------
    def limiter(self, key: str, interval_s: float, sleep=time.sleep, clock=time.time) -> RateLimiter:
        limiter = RateLimiter(PgSlots(self), key, interval_s, sleep=sleep, clock=clock)
        limiter.path = self.where
        return limiter

    def cache(self, clock=time.time) -> ResponseCache:
        return ResponseCache(store=PgResponses(self), clock=clock)

    def health(self, clock=time.time) -> SourceHealth:
        return SourceHealth(store=PgHealthStore(self), clock=clock)

    # ---- connection -----------------------------------------------------------------------------
    def _error(self, exc: BaseException, doing: str) -> StateUnavailable:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return StateUnavailable(f"SONGNODES_STATE_URL: the state database {self.where} {doing}: {message}")

    def _connection(self):
        import psycopg2

        if self._con is not None and self._pid != os.getpid():
            _abandoned.append(self._con)
            self._con = None
        if self._con is None or self._con.closed:
            try:
                self._con = psycopg2.connect(self.url, connect_timeout=self._timeout,
                                             application_name="songnodes_state")
            except psycopg2.Error as exc:
                raise self._error(exc, "cannot be reached") from None
            self._pid = os.getpid()
        return self._con

    def run(self, fn: Callable[[object], T]) -> T:
        """``fn(cursor)`` in one transaction (committed; rolled back on any error). A connection found
        broken is reopened and the transaction run again once (it had not committed)."""
        import psycopg2

        with self._lock:
            for attempt in (1, 2):
                con = self._connection()
                try:
                    with con.cursor() as cur:
                        result = fn(cur)
                    con.commit()
                    return result
                except psycopg2.Error as exc:
                    try:
                        con.rollback()
                    except psycopg2.Error:
                        pass
                    if con.closed and attempt == 1:
                        continue
                    raise self._error(exc, "failed") from None
                except BaseException:
                    try:
                        con.rollback()
                    except psycopg2.Error:
                        pass
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None

    def __enter__(self) -> "PgState":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _create_schema(cur) -> None:
        def missing() -> bool:
            cur.execute("SELECT " + ", ".join("to_regclass(%s)" for _ in TABLES), [f"{SCHEMA}.{t}" for t in TABLES])
            return None in cur.fetchone()

        if not missing():  # no DDL (and no CREATE privilege needed) once the tables exist
            return
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        for statement in DDL:
            cur.execute(statement)


class PgSlots:
    """The limiter's slot store: ``transact(fn)`` is one transaction holding the row lock of each key read."""

    def __init__(self, state: PgState):
        self._state = state

    def transact(self, fn):
        return self._state.run(lambda cur: fn(_PgSlotView(cur)))


class _PgSlotView:
    def __init__(self, cur):
        self._cur = cur

    def get(self, key: str) -> float | None:
        select = f"SELECT next_free FROM {SCHEMA}.slots WHERE key = %s FOR UPDATE"
        self._cur.execute(select, (key,))
        row = self._cur.fetchone()
        if row is None:  # create the row to lock; a concurrent creator makes this wait for its commit
            self._cur.execute(f"INSERT INTO {SCHEMA}.slots (key) VALUES (%s) ON CONFLICT DO NOTHING", (key,))
            self._cur.execute(select, (key,))
            row = self._cur.fetchone()
        return row[0]

    def now(self) -> float:
        self._cur.execute("SELECT extract(epoch FROM clock_timestamp())::float8")
        return self._cur.fetchone()[0]

    def set(self, key: str, value: float) -> None:
        self._cur.execute(f"INSERT INTO {SCHEMA}.slots (key, next_free) VALUES (%s, %s) "
                          "ON CONFLICT (key) DO UPDATE SET next_free = EXCLUDED.next_free", (key, value))


class PgResponses:
    """The response cache's store. Bodies arrive already redacted by the API client (as on SQLite)."""

    path = None

    def __init__(self, state: PgState):
        self._state = state
        self.warn = state.warn

    def open(self) -> None:
        pass  # PgState reached the server and made the tables already

    def fetch(self, source: str, key: str):
        def read(cur):
            cur.execute(f"SELECT status, body, expires_at FROM {SCHEMA}.responses WHERE source = %s AND key = %s",
                        (source, key))
            return cur.fetchone()

        return self._state.run(read)

    def write(self, row: tuple) -> None:
        self._state.run(lambda cur: cur.execute(
            f"INSERT INTO {SCHEMA}.responses (source, key, status, body, stored_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source, key) DO UPDATE SET status = EXCLUDED.status, "
            "body = EXCLUDED.body, stored_at = EXCLUDED.stored_at, expires_at = EXCLUDED.expires_at", row))

    def delete(self, source: str, keys: list[str]) -> None:
        self._state.run(lambda cur: cur.execute(
            f"DELETE FROM {SCHEMA}.responses WHERE source = %s AND key = ANY(%s)", (source, list(keys))))

    def count(self, source: str | None) -> int:
        def read(cur) -> int:
            cur.execute(f"SELECT count(*) FROM {SCHEMA}.responses" + (" WHERE source = %s" if source else ""),
                        (source,) if source else ())
            return cur.fetchone()[0]

        return self._state.run(read)


class PgHealthStore:
    path = None

    def __init__(self, state: PgState):
        self._state = state
        self.warn = state.warn

    def open(self) -> None:
        pass

    def upsert(self, source: str, values: dict) -> None:
        cols = [c for c in values if c in HEALTH_COLUMNS]
        if len(cols) != len(values):
            raise ValueError(f"unknown health columns: {sorted(set(values) - set(HEALTH_COLUMNS))}")
        statement = (f"INSERT INTO {SCHEMA}.health (source, {', '.join(cols)}) "  # noqa: S608 (column names are ours)
                     f"VALUES (%s{', %s' * len(cols)}) ON CONFLICT (source) DO UPDATE SET "
                     + ", ".join(f"{c} = EXCLUDED.{c}" for c in cols))
        self._state.run(lambda cur: cur.execute(statement, (source, *(values[c] for c in cols))))

    def get(self, source: str) -> dict | None:
        def read(cur) -> dict | None:
            cur.execute(f"SELECT source, {', '.join(HEALTH_COLUMNS)} FROM {SCHEMA}.health WHERE source = %s",
                        (source,))
            row = cur.fetchone()
            return dict(zip(("source", *HEALTH_COLUMNS), row)) if row else None

        return self._state.run(read)
