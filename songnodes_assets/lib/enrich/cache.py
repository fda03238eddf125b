"""Response cache that survives between runs (SQLite): successes kept long, "not found" shorter,
failures (429, 5xx, timeouts, bad JSON) never stored.

Why not requests-cache: whether a 200 answer means "found" or "not found" depends on the body
(an empty Spotify search, MusicBrainz ``count: 0``, Last.fm error 6 inside a 200, GetSongBPM's
``{"search": {"error": "no result"}}``), so the TTL is chosen by the source adapter after parsing;
an HTTP cache decides before it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from .sqlite_state import connect


class ResponseCache:
    def __init__(self, path: str | os.PathLike, clock=time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS responses (source TEXT, key TEXT, status INTEGER, body TEXT, "
                        "stored_at REAL, expires_at REAL, PRIMARY KEY (source, key))")

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)  # WAL + NORMAL: durable across crashes, no fsync per write

    def get(self, source: str, key: str) -> tuple[int, object] | None:
        con = self._connect()
        try:
            row = con.execute("SELECT status, body, expires_at FROM responses WHERE source = ? AND key = ?",
                              (source, key)).fetchone()
        finally:
            con.close()
        if row is None or row[2] < self._clock():
            return None
        return row[0], json.loads(row[1])

    def put(self, source: str, key: str, status: int, body: object, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        now = self._clock()
        con = self._connect()
        try:
            with con:
                con.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                            (source, key, status, json.dumps(body), now, now + ttl_s))
        finally:
            con.close()

    def delete(self, source: str, keys: list[str]) -> None:
        """Forget answers (e.g. ones a lookup could not read: the next run asks again)."""
        if not keys:
            return
        con = self._connect()
        try:
            with con:
                con.executemany("DELETE FROM responses WHERE source = ? AND key = ?", [(source, k) for k in keys])
        finally:
            con.close()

    def count(self, source: str | None = None) -> int:
        con = self._connect()
        try:
            q = "SELECT count(*) FROM responses" + (" WHERE source = ?" if source else "")
            return con.execute(q, (source,) if source else ()).fetchone()[0]
        finally:
            con.close()
