"""Per-source health that outlives a run: circuit breaker state and when it opened, last successful and
last failed call. The alert sensors read it. Rows live in a health store (``state_backend``): a SQLite
file beside the cache here (``SqliteHealthStore``), or a PostgreSQL table every host writes (``pg_state``).

A corrupt file is moved aside and rebuilt empty (see ``sqlite_state``). Writes are advisory: when the
store cannot be written (disk full, read-only, the state server gone) one warning names it and the lookups
carry on; the missing "last success" then shows up in the alert sensors. ``get`` raises, naming it."""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Callable

from .advisory import Advisory
from .sqlite_state import StateFile

COLUMNS = ("breaker_state", "opened_at", "closed_at", "last_success_at", "last_failure_at")
SCHEMA = ("CREATE TABLE IF NOT EXISTS health (source TEXT PRIMARY KEY, breaker_state TEXT, "
          "opened_at REAL, closed_at REAL, last_success_at REAL, last_failure_at REAL)")


class SqliteHealthStore:
    def __init__(self, path: str | os.PathLike, log: Callable[[str], None] | None = None):
        self._db = StateFile(path, SCHEMA, log=log)
        self.path = self._db.path
        self.warn = self._db.warn

    def open(self) -> None:
        self._db.run(lambda con: None)

    def upsert(self, source: str, values: dict) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values)

        def write(con) -> None:
            with con:
                con.execute(f"INSERT INTO health (source, {cols}) VALUES (?, {marks}) "  # noqa: S608 (column names are ours)
                            f"ON CONFLICT(source) DO UPDATE SET {updates}", (source, *values.values()))

        self._db.run(write)

    def get(self, source: str) -> dict | None:
        def read(con) -> dict | None:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM health WHERE source = ?", (source,)).fetchone()
            return dict(row) if row else None

        return self._db.run(read)


class SourceHealth:
    """``SourceHealth(path)``: on a SQLite file; ``SourceHealth(store=...)``: on another health store."""

    def __init__(self, path: str | os.PathLike | None = None, clock=time.time,
                 log: Callable[[str], None] | None = None, *, store=None):
        if (path is None) == (store is None):
            raise TypeError("SourceHealth needs a path or a store, not both")
        self._store = store if store is not None else SqliteHealthStore(path, log=log)
        self.path = getattr(self._store, "path", None)
        self._clock = clock
        self._advisory = Advisory(self._store.warn, "source health not recorded, carrying on")
        self._advisory(self._store.open)
        self._last_success_write: dict[str, float] = {}

    def _upsert(self, source: str, **values) -> None:
        assert set(values) <= set(COLUMNS), values
        self._advisory(lambda: self._store.upsert(source, values))

    def breaker_opened(self, source: str) -> None:
        self._upsert(source, breaker_state="open", opened_at=self._clock())

    def breaker_closed(self, source: str) -> None:
        self._upsert(source, breaker_state="closed", closed_at=self._clock())

    def success(self, source: str) -> None:
        now = self._clock()
        if now - self._last_success_write.get(source, 0.0) < 5.0:  # at most one write every 5 s
            return
        self._last_success_write[source] = now

        def record() -> None:
            row = self.get(source)
            if row and row.get("breaker_state") == "open":  # a success means the breaker is closed again
                self._store.upsert(source, {"breaker_state": "closed", "closed_at": now, "last_success_at": now})
            else:
                self._store.upsert(source, {"last_success_at": now})

        self._advisory(record)

    def failure(self, source: str) -> None:
        self._upsert(source, last_failure_at=self._clock())

    def get(self, source: str) -> dict | None:
        return self._store.get(source)
