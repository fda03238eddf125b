"""The demo's Dagster home stays the demo: ``songnodes demo`` marks its home, and definitions loaded on a
marked home (``make ui``, ``dagster dev`` with that DAGSTER_HOME) never reach a live host on their own.

On a demo home: the lakehouse and cache default to the demo's folders; every remote whose URL is not set
explicitly points to a closed local port (the demo's sample site and fake APIs only live while
``songnodes demo`` runs); the automation and retry sensors start STOPPED. Set any SONGNODES_*_BASE_URL to
override; nothing is read from a web page. The partitions start at the earliest day the demo built (so the
UI's partition bars are not 1,000 empty days), unless SONGNODES_PARTITIONS_START says otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER = "songnodes_demo.json"
OFFLINE_URL = "http://127.0.0.1:9"  # discard port: connections are refused at once
REMOTES = ("MIXESDB", "MUSICBRAINZ", "SPOTIFY", "LASTFM", "DISCOGS", "GETSONGBPM", "ACOUSTICBRAINZ")
BANNER = ("demo home ({home}): automation and retries are paused and every remote points to a closed local "
          "port, so nothing here re-runs against live hosts; `make demo` refreshes the demo data")


def marker_path(dagster_home: str | os.PathLike) -> Path:
    return Path(dagster_home) / MARKER


def read_marker(dagster_home: str | os.PathLike) -> dict:
    """The marker's fields ({} when it is missing, unreadable or not a JSON object)."""
    try:
        data = json.loads(marker_path(dagster_home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def marker_start(dagster_home: str | os.PathLike) -> str | None:
    """The first partition a demo home's marker records (the earliest day a demo built), if any."""
    value = read_marker(dagster_home).get("partitions_start")
    return value if isinstance(value, str) else None


def write_marker(dagster_home: Path, lakehouse_root: str, cache_dir: str, partitions_start: str | None = None) -> None:
    data = {"lakehouse_root": lakehouse_root, "cache_dir": cache_dir}
    if partitions_start:
        data["partitions_start"] = partitions_start
    tmp = marker_path(dagster_home).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, marker_path(dagster_home))


# `dagster dev` in the repository root without DAGSTER_HOME uses a temporary home and the root dagster.yaml,
# whose storage is the demo's instance: the demo's marker there counts.
ROOT_DEMO_HOME = Path(".songnodes") / "dagster_home"


def demo_home() -> dict | None:
    """The demo marker of the instance in use (unreadable marker: still a demo home): the one in DAGSTER_HOME,
    or, under plain `dagster dev` (DAGSTER_HOME unset or one of its temporary homes: the root dagster.yaml,
    i.e. the demo's storage, is in use), the one under ./.songnodes."""
    home = os.environ.get("DAGSTER_HOME")
    if not home and os.environ.get("DAGSTER_IS_DEV_CLI") != "1":
        return None
    if not home or Path(home).name.startswith(".tmp_dagster_home_"):
        home = str(ROOT_DEMO_HOME.resolve())
    if not marker_path(home).is_file():
        return None
    return {"home": home, **read_marker(home)}


def apply_defaults(environ=os.environ) -> dict | None:
    """On a demo home (and not while the demo itself runs), fill unset variables with the offline defaults."""
    info = demo_home()
    if info is None or environ.get("SONGNODES_DEMO_RUNNING") == "1":
        return None
    for name in REMOTES:
        key = f"SONGNODES_{name}_BASE_URL"
        if not environ.get(key, "").strip():
            environ[key] = OFFLINE_URL
    if not environ.get("SONGNODES_SPOTIFY_AUTH_URL", "").strip():
        environ["SONGNODES_SPOTIFY_AUTH_URL"] = OFFLINE_URL + "/api/token"
    for key, field in (("SONGNODES_LAKEHOUSE_ROOT", "lakehouse_root"), ("SONGNODES_CACHE_DIR", "cache_dir"),
                       ("SONGNODES_PARTITIONS_START", "partitions_start")):
        if not environ.get(key, "").strip() and isinstance(info.get(field), str):
            environ[key] = info[field]
    return info
