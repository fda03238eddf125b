"""SQLite files for the small state shared by processes (cache, rate limits, health).

Guarantees of ``StateFile.run``: a file SQLite reports as corrupt ("file is not a database",
"malformed"), whether at open or in a later query, is moved aside to ``<name>.corrupt-<UTC time>``
(with its -wal/-shm), a warning names both paths, and the call is retried once on a fresh empty
store. Every other sqlite3 error is re-raised, same type, with the file's path in its message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover (no cross-process heal lock on Windows)
    fcntl = None

LOG = logging.getLogger(__name__)
T = TypeVar("T")
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def connect(path: Path, synchronous: str = "NORMAL", autocommit: bool = False) -> sqlite3.Connection:
    """WAL mode so readers never block the writer; ``synchronous`` OFF only where losing the last
    write is harmless (rate-limit slots)."""
    con = sqlite3.connect(path, timeout=60, isolation_level=None if autocommit else "")
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        con.close()
        raise
    return con


def is_corrupt(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    msg = str(exc).lower()
    return (code is not None and code & 0xFF in _CORRUPT_CODES) or "malformed" in msg or "not a database" in msg


class StateFile:
    """One state file: ``schema`` (idempotent DDL) is applied on every connection, so a store that
    another process has just rebuilt is usable at once."""

    def __init__(self, path: str | os.PathLike, schema: str, *, synchronous: str = "NORMAL",
                 autocommit: bool = False, log: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.synchronous = synchronous
        self.autocommit = autocommit
        self.warn = log or LOG.warning

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(con)`` on a fresh connection (closed afterwards; an open transaction rolls back)."""
        for attempt in (1, 2):
            try:
                with _dir_lock(self.path.parent, exclusive=False):  # no heal while a connection is open
                    inode = _inode(self.path)
                    con = connect(self.path, self.synchronous, self.autocommit)
                    try:
                        con.execute(self.schema)
                        return fn(con)
                    finally:
                        con.close()
            except sqlite3.DatabaseError as exc:
                if attempt == 1 and is_corrupt(exc):
                    self._move_aside(inode, exc)
                    continue
                named = _naming(exc, self.path)
                if named is exc:
                    raise
                raise named from exc
        raise AssertionError("unreachable")

    def _move_aside(self, inode: tuple[int, int] | None, exc: BaseException) -> None:
        # Exclusive: every other process has closed its connections first. (Closing the last connection to
        # the old file would otherwise delete the new file's -wal and -shm: SQLite removes them by name.)
        with _dir_lock(self.path.parent, exclusive=True):
            if inode is None or _inode(self.path) != inode:
                return  # another process moved it aside already; the retry uses its fresh file
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            for suffix in ("-wal", "-shm", ""):  # the WAL first: a fresh file must never replay it
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    os.replace(src, f"{aside}{suffix}")
        self.warn(f"SQLite state file {self.path} is corrupt ({exc}); moved it aside to {aside} "
                  "and started an empty one")


def _naming(exc: sqlite3.Error, path: Path) -> sqlite3.Error:
    if str(path) in str(exc):
        return exc
    named = type(exc)(f"{path}: {exc}")
    for attr in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(exc, attr):
            setattr(named, attr, getattr(exc, attr))
    return named


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


@contextmanager
def _dir_lock(directory: Path, exclusive: bool):
    """flock on the folder's descriptor (no lock file): shared for each use, exclusive to heal."""
    fd = os.open(directory, os.O_RDONLY) if fcntl is not None else None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            except OSError:  # a filesystem without flock: go on unlocked
                pass
        yield
    finally:
        if fd is not None:
            os.close(fd)
