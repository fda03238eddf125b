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
from typing import Callable

from .sqlite_state import StateFile

SCHEMA = ("CREATE TABLE IF NOT EXISTS responses (source TEXT, key TEXT, status INTEGER, body TEXT, "
          "stored_at REAL, expires_at REAL, PRIMARY KEY (source, key))")


class ResponseCache:
    """A corrupt file is moved aside and rebuilt empty (see ``sqlite_state``). When the file cannot be
    read or written (disk full, read-only, I/O error) ``get`` misses and ``put``/``delete`` do nothing:
    one warning names the file, and lookups carry on uncached. ``count`` raises, naming the file."""

    def __init__(self, path: str | os.PathLike, clock=time.time, log: Callable[[str], None] | None = None):
        self._db = StateFile(path, SCHEMA, log=log)  # WAL + NORMAL: durable across crashes, no fsync per write
        self.path = self._db.path
        self._clock = clock
        self._warned = False
        self._quietly(lambda con: None)

    def _quietly(self, fn, default=None):
        try:
            return self._db.run(fn)
        except (sqlite3.DatabaseError, OSError) as exc:  # the message names the file
            if not self._warned:
                self._warned = True
                self._db.warn(f"response cache unusable, carrying on without it: {exc}")
            return default

    def get(self, source: str, key: str) -> tuple[int, object] | None:
        row = self._quietly(lambda con: con.execute(
            "SELECT status, body, expires_at FROM responses WHERE source = ? AND key = ?", (source, key)).fetchone())
        if row is None or row[2] < self._clock():
            return None
        return row[0], json.loads(row[1])

    def put(self, source: str, key: str, status: int, body: object, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        now = self._clock()
        row = (source, key, status, json.dumps(body), now, now + ttl_s)

        def write(con):
            with con:
                con.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)", row)

        self._quietly(write)

    def delete(self, source: str, keys: list[str]) -> None:
        """Forget answers (e.g. ones a lookup could not read: the next run asks again)."""
        if not keys:
            return

        def write(con):
            with con:
                con.executemany("DELETE FROM responses WHERE source = ? AND key = ?", [(source, k) for k in keys])

        self._quietly(write)

    def count(self, source: str | None = None) -> int:
        q = "SELECT count(*) FROM responses" + (" WHERE source = ?" if source else "")
        return self._db.run(lambda con: con.execute(q, (source,) if source else ()).fetchone()[0])
