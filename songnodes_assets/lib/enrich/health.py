"""Per-source health that outlives a run (SQLite beside the cache): circuit breaker state and when it
opened, last successful and last failed call. The alert sensors read it."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .sqlite_state import connect


class SourceHealth:
    def __init__(self, path: str | os.PathLike, clock=time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS health (source TEXT PRIMARY KEY, breaker_state TEXT, "
                        "opened_at REAL, closed_at REAL, last_success_at REAL, last_failure_at REAL)")
        self._last_success_write: dict[str, float] = {}

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def _upsert(self, source: str, **values) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values)
        con = self._connect()
        try:
            with con:
                con.execute(f"INSERT INTO health (source, {cols}) VALUES (?, {marks}) "  # noqa: S608 (column names are ours)
                            f"ON CONFLICT(source) DO UPDATE SET {updates}", (source, *values.values()))
        finally:
            con.close()

    def breaker_opened(self, source: str) -> None:
        self._upsert(source, breaker_state="open", opened_at=self._clock())

    def breaker_closed(self, source: str) -> None:
        self._upsert(source, breaker_state="closed", closed_at=self._clock())

    def success(self, source: str) -> None:
        now = self._clock()
        if now - self._last_success_write.get(source, 0.0) < 5.0:  # at most one write every 5 s
            return
        self._last_success_write[source] = now
        row = self.get(source)
        if row and row.get("breaker_state") == "open":  # a success means the breaker is closed again
            self._upsert(source, breaker_state="closed", closed_at=now, last_success_at=now)
        else:
            self._upsert(source, last_success_at=now)

    def failure(self, source: str) -> None:
        self._upsert(source, last_failure_at=self._clock())

    def get(self, source: str) -> dict | None:
        con = self._connect()
        try:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM health WHERE source = ?", (source,)).fetchone()
        finally:
            con.close()
        return dict(row) if row else None
