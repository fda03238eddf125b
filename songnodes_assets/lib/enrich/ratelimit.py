"""A rate limiter whose state lives in a SQLite file, so every process on the machine (concurrent
runs, backfills, the multiprocess executor) shares one schedule per source.

Each call reserves the next free slot (GCRA with zero burst): ``slot = max(now, next_free)``,
``next_free = slot + interval``. Slots are handed out in one ``BEGIN IMMEDIATE`` transaction, so two
processes never get the same slot and calls are spaced at least ``interval`` apart. Spacing is
stricter than any windowed quota with the same mean rate (60/min -> 1 s apart), which is what the
documented limits need. Why not pyrate-limiter: its SQLite bucket counts a window but still lets a
burst through at the window edge; exact spacing is simpler to reason about and to test.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from .sqlite_state import StateFile

SCHEMA = "CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, next_free REAL NOT NULL)"


class SharedRateLimiter:
    """A corrupt file is moved aside and rebuilt empty (the schedule restarts from now). A file that
    cannot be written (disk full, read-only) raises ``sqlite3.OperationalError`` naming it: going on
    without the shared schedule would break the quota."""

    def __init__(self, path: str | os.PathLike, key: str, interval_s: float, sleep=time.sleep, clock=time.time,
                 log: Callable[[str], None] | None = None):
        # synchronous OFF: losing the last slot is harmless
        self._db = StateFile(path, SCHEMA, synchronous="OFF", autocommit=True, log=log)
        self.path = self._db.path
        self.key = key
        self.interval_s = max(0.0, float(interval_s))
        self.send_margin_s = 0.05 * self.interval_s
        self._sleep = sleep
        self._clock = clock
        self._db.run(lambda con: None)
        self.waited_s = 0.0

    def reserve(self) -> float:
        """Reserve the next slot; returns the wall-clock time at which the caller may send."""

        def take(con) -> float:
            con.execute("BEGIN IMMEDIATE")  # an error closes the connection, which rolls back
            row = con.execute("SELECT next_free FROM slots WHERE key = ?", (self.key,)).fetchone()
            now = self._clock()
            slot = max(now, row[0] if row else now)
            con.execute("INSERT INTO slots(key, next_free) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET next_free = excluded.next_free", (self.key, slot + self.interval_s))
            con.execute("COMMIT")
            return slot

        return self._db.run(take)

    def acquire(self) -> float:
        """Block until this caller may send; returns the seconds waited.

        Reserved slots order the callers; sends are spaced too: a caller whose slot came but whose
        predecessor sent late (scheduling, a slow process) waits until ``interval`` after that send, and
        records its own send time in the same transaction. So the gaps the server sees are at least the
        interval: a margin (``send_margin_s``: 5 % of the interval, 50 ms at MusicBrainz's 1 s) covers
        the difference in two senders' latency from this commit to the wire."""
        waited = 0.0
        slot = self.reserve()
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)
            waited += wait
        sent_key = self.key + "#sent"

        def confirm(con) -> float:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT next_free FROM slots WHERE key = ?", (sent_key,)).fetchone()
            now = self._clock()
            wait = (row[0] + self.interval_s + self.send_margin_s - now) if row else 0.0
            if wait <= 0:
                con.execute("INSERT INTO slots(key, next_free) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET next_free = excluded.next_free", (sent_key, now))
            con.execute("COMMIT")
            return wait

        for _ in range(1000):  # each round waits for one predecessor's late send
            wait = self._db.run(confirm)
            if wait <= 0:
                break
            self._sleep(wait)
            waited += wait
        self.waited_s += waited
        return waited

    def push_back(self, seconds: float) -> None:
        """Make every caller wait at least ``seconds`` from now (a server said Retry-After)."""

        def push(con) -> None:
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO slots(key, next_free) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                        "next_free = max(next_free, excluded.next_free)", (self.key, self._clock() + seconds))
            con.execute("COMMIT")

        self._db.run(push)
