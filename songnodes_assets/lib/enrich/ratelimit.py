"""A rate limiter whose schedule lives in shared state, so every process (concurrent runs, backfills, the
multiprocess executor; with the PostgreSQL backend every host) shares one schedule per source.

Each call reserves the next free slot (GCRA with zero burst): ``slot = max(now, next_free)``,
``next_free = slot + interval``. Slots are handed out in one locked transaction of the slot store, so two
processes never get the same slot and calls are spaced at least ``interval`` apart. Spacing is
stricter than any windowed quota with the same mean rate (60/min -> 1 s apart), which is what the
documented limits need. Why not pyrate-limiter: its SQLite bucket counts a window but still lets a
burst through at the window edge; exact spacing is simpler to reason about and to test.

The algorithm (``RateLimiter``) is written once over a ``SlotStore`` (``state_backend``): its
``transact(fn)`` runs ``fn(slots)`` in one transaction that holds the lock on every key it reads, and
``slots.now()`` is the store's clock (SQLite: this host's; PostgreSQL: the server's, so hosts whose clocks
differ still agree). ``SharedRateLimiter`` is the limiter on a SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Callable

from .sqlite_state import StateFile

SCHEMA = "CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, next_free REAL NOT NULL)"


class RateLimiter:
    """reserve / acquire / push_back over a slot store. Errors of the store propagate: going on without
    the shared schedule would break the quota."""

    def __init__(self, store, key: str, interval_s: float, sleep=time.sleep, clock=time.time):
        self._store = store
        self.key = key
        self.interval_s = max(0.0, float(interval_s))
        self.send_margin_s = 0.05 * self.interval_s
        self._sleep = sleep
        self._clock = clock
        self.waited_s = 0.0

    def _take(self) -> float:
        """Reserve the next slot; the seconds from now (the store's clock) until it."""

        def take(slots) -> float:
            row = slots.get(self.key)
            now = slots.now()
            slot = max(now, row if row is not None else now)
            slots.set(self.key, slot + self.interval_s)
            return slot - now

        return self._store.transact(take)

    def reserve(self) -> float:
        """Reserve the next slot; returns the wall-clock time at which the caller may send."""
        return self._clock() + self._take()

    def acquire(self) -> float:
        """Block until this caller may send; returns the seconds waited.

        Reserved slots order the callers; sends are spaced too: a caller whose slot came but whose
        predecessor sent late (scheduling, a slow process) waits until ``interval`` after that send, and
        records its own send time in the same transaction. So the gaps the server sees are at least the
        interval: a margin (``send_margin_s``: 5 % of the interval, 50 ms at MusicBrainz's 1 s) covers
        the difference in two senders' latency from this commit to the wire."""
        waited = 0.0
        wait = self._take()
        if wait > 0:
            self._sleep(wait)
            waited += wait
        sent_key = self.key + "#sent"

        def confirm(slots) -> float:
            row = slots.get(sent_key)
            now = slots.now()
            wait = (row + self.interval_s + self.send_margin_s - now) if row is not None else 0.0
            if wait <= 0:
                slots.set(sent_key, now)
            return wait

        for _ in range(1000):  # each round waits for one predecessor's late send
            wait = self._store.transact(confirm)
            if wait <= 0:
                break
            self._sleep(wait)
            waited += wait
        self.waited_s += waited
        return waited

    def push_back(self, seconds: float) -> None:
        """Make every caller wait at least ``seconds`` from now (a server said Retry-After)."""

        def push(slots) -> None:
            row = slots.get(self.key)
            until = slots.now() + seconds
            slots.set(self.key, until if row is None else max(row, until))

        self._store.transact(push)


class SqliteSlots:
    """The slot store on a SQLite file: ``BEGIN IMMEDIATE`` locks the whole file for the transaction."""

    def __init__(self, path: str | os.PathLike, clock=time.time, log: Callable[[str], None] | None = None):
        # synchronous OFF: losing the last slot is harmless
        self._db = StateFile(path, SCHEMA, synchronous="OFF", autocommit=True, log=log)
        self.path = self._db.path
        self._clock = clock
        self._db.run(lambda con: None)

    def transact(self, fn):
        def run(con: sqlite3.Connection):
            con.execute("BEGIN IMMEDIATE")  # an error closes the connection, which rolls back
            result = fn(_SqliteView(con, self._clock))
            con.execute("COMMIT")
            return result

        return self._db.run(run)


class _SqliteView:
    def __init__(self, con: sqlite3.Connection, clock):
        self._con = con
        self.now = clock

    def get(self, key: str) -> float | None:
        row = self._con.execute("SELECT next_free FROM slots WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: float) -> None:
        self._con.execute("INSERT INTO slots(key, next_free) VALUES (?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET next_free = excluded.next_free", (key, value))


class SharedRateLimiter(RateLimiter):
    """The limiter on a SQLite file (one machine). A corrupt file is moved aside and rebuilt empty (the
    schedule restarts from now). A file that cannot be written (disk full, read-only) raises
    ``sqlite3.OperationalError`` naming it: going on without the shared schedule would break the quota."""

    def __init__(self, path: str | os.PathLike, key: str, interval_s: float, sleep=time.sleep, clock=time.time,
                 log: Callable[[str], None] | None = None):
        store = SqliteSlots(path, clock, log)
        super().__init__(store, key, interval_s, sleep=sleep, clock=clock)
        self.path = store.path
