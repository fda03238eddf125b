"""SQLite connections for the small state files shared by processes (cache, rate limits, health)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path, synchronous: str = "NORMAL", autocommit: bool = False) -> sqlite3.Connection:
    """WAL mode so readers never block the writer; ``synchronous`` OFF only where losing the last
    write is harmless (rate-limit slots)."""
    con = sqlite3.connect(path, timeout=60, isolation_level=None if autocommit else "")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={synchronous}")
    return con
