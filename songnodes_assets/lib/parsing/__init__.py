"""Parsers of tracklist pages. The line parser's modules load from an optional mypyc build when one matches
their sources (see compiled.py); otherwise, and by default, they are plain Python."""

import sys as _sys

from .compiled import usable_build as _usable_build

_build = _usable_build()
if _build is not None:
    __path__.insert(0, str(_build))  # type: ignore[name-defined]  # compiled modules first
    if str(_build) not in _sys.path:
        _sys.path.append(str(_build))  # mypyc's shared runtime module is imported by its top-level name
