"""State whose failure must not stop the lookups (the response cache, source health): a store call that fails
gives a default instead, and the first failure is reported once through the store's own warning."""

from __future__ import annotations

import sqlite3
from typing import Callable


class Advisory:
    """``advisory(fn, *args, default=None)``: ``fn(*args)``, or ``default`` when the store fails (a ``sqlite3``
    error or an ``OSError``, whose message names the file or server); the first failure warns ``what: error``."""

    def __init__(self, warn: Callable[[str], None], what: str):
        self._warn = warn
        self._what = what
        self._warned = False

    def __call__(self, fn: Callable, *args, default=None):
        try:
            return fn(*args)
        except (sqlite3.DatabaseError, OSError) as exc:
            if not self._warned:
                self._warned = True
                self._warn(f"{self._what}: {exc}")
            return default
