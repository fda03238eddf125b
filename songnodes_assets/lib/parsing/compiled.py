"""Optional mypyc build of the line parser (scripts/compile_parser.py): where it lives and when it is used.

The build is used only when its manifest names this interpreter and every compiled module's source still
has the SHA-256 it was built from; otherwise the pure-Python modules load. SONGNODES_COMPILED_PARSER=0
turns the build off; SONGNODES_COMPILED_PARSER_DIR points at a build elsewhere (tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_DIR = PACKAGE_DIR / "_compiled"
MODULES = ("text.py", "cues.py", "credits.py", "line.py", "tracklist.py")
MANIFEST = "manifest.json"


def _digests(package: Path) -> dict[str, str]:
    return {name: hashlib.sha256((package / name).read_bytes()).hexdigest() for name in MODULES}


def write_manifest(out: Path, package: Path = PACKAGE_DIR) -> None:
    manifest = {"cache_tag": sys.implementation.cache_tag, "sources": _digests(package)}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def usable_build(package: Path = PACKAGE_DIR) -> Path | None:
    """The build folder to load, or None (switched off, absent, for another interpreter or stale)."""
    if os.environ.get("SONGNODES_COMPILED_PARSER", "1").strip() == "0":
        return None
    folder = Path(os.environ.get("SONGNODES_COMPILED_PARSER_DIR") or DEFAULT_DIR)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("cache_tag") != sys.implementation.cache_tag:
            return None
        if manifest.get("sources") != _digests(package):
            return None
    except (OSError, ValueError, AttributeError):
        return None
    return folder


def in_use() -> bool:
    """True when the parser modules loaded are the compiled ones."""
    from . import tracklist

    return not tracklist.__file__.endswith(".py")
