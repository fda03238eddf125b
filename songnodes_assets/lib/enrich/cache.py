"""Response cache that survives between runs: successes kept long, "not found" shorter, failures (429,
5xx, timeouts, bad JSON) never stored. Rows live in a response store (``state_backend``): a SQLite file
here (``SqliteResponses``), or PostgreSQL tables shared by many hosts (``pg_state``).

Why not requests-cache: whether a 200 answer means "found" or "not found" depends on the body
(an empty Spotify search, MusicBrainz ``count: 0``, Last.fm error 6 inside a 200, GetSongBPM's
``{"search": {"error": "no result"}}``), so the TTL is chosen by the source adapter after parsing;
an HTTP cache decides before it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable

from .advisory import Advisory
from .sqlite_state import StateFile

SCHEMA = ("CREATE TABLE IF NOT EXISTS responses (source TEXT, key TEXT, status INTEGER, body TEXT, "
          "stored_at REAL, expires_at REAL, PRIMARY KEY (source, key))")


class SqliteResponses:
    """The response store on a SQLite file (WAL + NORMAL: durable across crashes, no fsync per write)."""

    def __init__(self, path: str | os.PathLike, log: Callable[[str], None] | None = None):
        self._db = StateFile(path, SCHEMA, log=log)
        self.path = self._db.path
        self.warn = self._db.warn

    def open(self) -> None:
        self._db.run(lambda con: None)

    def fetch(self, source: str, key: str) -> tuple[int, str, float] | None:
        return self._db.run(lambda con: con.execute(
            "SELECT status, body, expires_at FROM responses WHERE source = ? AND key = ?", (source, key)).fetchone())

    def write(self, row: tuple) -> None:
        def write(con):
            with con:
                con.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)", row)

        self._db.run(write)

    def delete(self, source: str, keys: list[str]) -> None:
        def write(con):
            with con:
                con.executemany("DELETE FROM responses WHERE source = ? AND key = ?", [(source, k) for k in keys])

        self._db.run(write)

    def count(self, source: str | None) -> int:
        q = "SELECT count(*) FROM responses" + (" WHERE source = ?" if source else "")
        return self._db.run(lambda con: con.execute(q, (source,) if source else ()).fetchone()[0])


class ResponseCache:
    """``ResponseCache(path)``: on a SQLite file; ``ResponseCache(store=...)``: on another response store.

    A corrupt file is moved aside and rebuilt empty (see ``sqlite_state``). When the store cannot be
    read or written (disk full, read-only, I/O error, the state server gone) ``get`` misses and
    ``put``/``delete`` do nothing: one warning names the file (or server), and lookups carry on uncached.
    ``count`` raises, naming it."""

    def __init__(self, path: str | os.PathLike | None = None, clock=time.time,
                 log: Callable[[str], None] | None = None, *, store=None):
        if (path is None) == (store is None):
            raise TypeError("ResponseCache needs a path or a store, not both")
        self._store = store if store is not None else SqliteResponses(path, log=log)
        self.path = getattr(self._store, "path", None)
        self._clock = clock
        self._quietly = Advisory(self._store.warn, "response cache unusable, carrying on without it")
        self._quietly(self._store.open)

    def get(self, source: str, key: str) -> tuple[int, object] | None:
        row = self._quietly(self._store.fetch, source, key)
        if row is None or row[2] < self._clock():
            return None
        return row[0], json.loads(row[1])

    def put(self, source: str, key: str, status: int, body: object, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        now = self._clock()
        self._quietly(self._store.write, (source, key, status, json.dumps(body), now, now + ttl_s))

    def delete(self, source: str, keys: list[str]) -> None:
        """Forget answers (e.g. ones a lookup could not read: the next run asks again)."""
        if keys:
            self._quietly(self._store.delete, source, keys)

    def count(self, source: str | None = None) -> int:
        return self._store.count(source)
