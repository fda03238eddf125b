"""Where the enrichment API state lives, chosen by ``SONGNODES_STATE_URL`` (validated in ``settings``):

- unset: SQLite files under ``SONGNODES_CACHE_DIR`` (``ratelimit.sqlite``, ``responses.sqlite``,
  ``health.sqlite``): one machine, every process on it sharing them;
- ``postgresql://user@host:port/db``: tables in that database's schema ``songnodes_state`` (``pg_state``),
  shared by every host, so N workers together hold each quota and the alert sensors see every host's health.

A backend makes the three objects the API client uses; each is the same logic (``ratelimit.RateLimiter``,
``cache.ResponseCache``, ``health.SourceHealth``) over a small store:

- slot store: ``transact(fn)`` runs ``fn(slots)`` in one transaction holding the lock of every key it
  reads; ``slots.get(key) -> float | None``, ``slots.set(key, value)``, ``slots.now()`` (the store's clock);
- response store: ``open()``, ``fetch(source, key) -> (status, body_json, expires_at) | None``,
  ``write((source, key, status, body_json, stored_at, expires_at))``, ``delete(source, keys)``,
  ``count(source | None)``, ``warn(message)``;
- health store: ``open()``, ``upsert(source, {column: value})``, ``get(source) -> dict | None``, ``warn``.

Store failures are ``OSError``s (``sqlite3`` errors on SQLite): the limiter's caller fails, the cache and
health warn once and carry on.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Protocol

from .cache import ResponseCache
from .health import SourceHealth
from .ratelimit import RateLimiter, SharedRateLimiter


class StateBackend(Protocol):
    kind: str  # "sqlite" | "postgresql"
    where: str  # the folder or the server (no password), for messages

    def limiter(self, key: str, interval_s: float, sleep=time.sleep, clock=time.time) -> RateLimiter: ...

    def cache(self, clock=time.time) -> ResponseCache: ...

    def health(self, clock=time.time) -> SourceHealth: ...

    def close(self) -> None: ...


class SqliteState:
    """The default backend: one SQLite file per kind of state in ``cache_dir`` (the layout of before)."""

    kind = "sqlite"

    def __init__(self, cache_dir: str | Path, log: Callable[[str], None] | None = None):
        self.cache_dir = Path(cache_dir)
        self.where = str(self.cache_dir)
        self._log = log

    def limiter(self, key: str, interval_s: float, sleep=time.sleep, clock=time.time) -> SharedRateLimiter:
        return SharedRateLimiter(self.cache_dir / "ratelimit.sqlite", key, interval_s, sleep=sleep, clock=clock,
                                 log=self._log)

    def cache(self, clock=time.time) -> ResponseCache:
        return ResponseCache(self.cache_dir / "responses.sqlite", clock=clock, log=self._log)

    def health(self, clock=time.time) -> SourceHealth:
        return SourceHealth(self.cache_dir / "health.sqlite", clock=clock, log=self._log)

    def close(self) -> None:
        pass

    def __enter__(self) -> "SqliteState":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_state(state_url: str | None, cache_dir: str | Path, log: Callable[[str], None] | None = None):
    """The backend for a (validated) ``SONGNODES_STATE_URL``: SQLite under ``cache_dir`` when unset, else
    PostgreSQL, reached now (``pg_state.StateUnavailable`` naming the server if it cannot be)."""
    if not state_url:
        return SqliteState(cache_dir, log=log)
    if not state_url.startswith(("postgresql://", "postgres://")):
        raise ValueError("SONGNODES_STATE_URL must be unset (SQLite under SONGNODES_CACHE_DIR) or "
                         "postgresql://user@host:port/db")
    from .pg_state import PgState

    return PgState(state_url, log=log)
