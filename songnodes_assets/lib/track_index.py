"""Which partitions each track id appears in, kept beside the lakehouse so "first seen on this date?" costs
the day's tracks, not a re-read of every earlier silver partition.

``<lakehouse>/_index/track_sightings.sqlite`` holds (track_id, partition) rows and, per indexed partition, the
signature (size, mtime, inode) of the ``silver/tracks`` file it was built from. ``sync`` compares signatures
with the files on disk and re-indexes only partitions whose file is new, replaced or gone, so the index is a
cache that cannot go stale: a re-parse, an out-of-order backfill, a crash between publishing silver and
updating the index, or a lakehouse that predates the index all heal on the next lookup. Its cost is one
``stat`` per partition plus reading the changed partitions' track ids; lookups are keyed (primary key on
track_id). A corrupt file is moved aside and rebuilt (``sqlite_state``)."""

from __future__ import annotations

import os
from pathlib import Path

from .enrich.sqlite_state import StateFile
from .lakehouse import Lakehouse
from .schemas import SILVER_TRACKS

SCHEMA = ("CREATE TABLE IF NOT EXISTS sightings (track_id TEXT NOT NULL, partition TEXT NOT NULL, "
          "PRIMARY KEY (track_id, partition)) WITHOUT ROWID")
_EXTRA = ("CREATE INDEX IF NOT EXISTS sightings_by_partition ON sightings (partition)",
          "CREATE TABLE IF NOT EXISTS indexed (partition TEXT PRIMARY KEY, signature TEXT NOT NULL)")
_CHUNK = 900  # SQLite's bound-variable limit is 999 on older builds


def index_path(lake: Lakehouse) -> Path:
    return lake.root / "_index" / "track_sightings.sqlite"


class TrackIndex:
    def __init__(self, lake: Lakehouse, log=None):
        self.lake = lake
        self._db = StateFile(index_path(lake), SCHEMA, log=log)
        self.reindexed: list[str] = []  # partitions (re)indexed by the last sync, for logs and tests

    def _prepare(self, con) -> None:
        for ddl in _EXTRA:
            con.execute(ddl)

    def sync(self) -> list[str]:
        """Re-index the partitions whose silver.tracks file changed since it was indexed; drop vanished ones."""
        files = self.lake.partition_signatures(SILVER_TRACKS)

        def indexed(con):
            self._prepare(con)
            return dict(con.execute("SELECT partition, signature FROM indexed").fetchall())

        known = self._db.run(indexed)
        stale = sorted(p for p, sig in files.items() if known.get(p) != sig)
        gone = sorted(set(known) - set(files))
        for partition in stale:
            signature = files[partition]  # taken before reading: a file replaced meanwhile re-indexes next time
            ids = sorted(set(self.lake.read(SILVER_TRACKS, partition, columns=["track_id"])["track_id"]))

            def write(con, partition=partition, ids=ids, signature=signature):
                self._prepare(con)
                with con:
                    con.execute("DELETE FROM sightings WHERE partition = ?", (partition,))
                    con.executemany("INSERT OR IGNORE INTO sightings VALUES (?, ?)", ((t, partition) for t in ids))
                    con.execute("INSERT OR REPLACE INTO indexed VALUES (?, ?)", (partition, signature))

            self._db.run(write)
        for partition in gone:
            def drop(con, partition=partition):
                self._prepare(con)
                with con:
                    con.execute("DELETE FROM sightings WHERE partition = ?", (partition,))
                    con.execute("DELETE FROM indexed WHERE partition = ?", (partition,))

            self._db.run(drop)
        self.reindexed = stale + gone
        return self.reindexed

    def seen_before(self, track_ids, partition: str) -> set[str]:
        """The ids among ``track_ids`` that appear in a partition earlier than ``partition``."""
        ids = list(dict.fromkeys(track_ids))

        def query(con):
            self._prepare(con)
            out: set[str] = set()
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i:i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                out.update(r[0] for r in con.execute(
                    f"SELECT DISTINCT track_id FROM sightings WHERE partition < ? AND track_id IN ({marks})",
                    (partition, *chunk)))
            return out

        return self._db.run(query)


def usable(lake: Lakehouse) -> bool:
    """The index can live here (the lakehouse root exists and is writable). With Iceberg tables the root holds
    only local caches, so it is made when missing."""
    if lake.table_format == "iceberg":
        try:
            lake.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
    return lake.root.is_dir() and os.access(lake.root, os.W_OK)
