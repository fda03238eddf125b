"""State files that heal (corrupt SQLite moved aside and rebuilt), a full disk under the cache, and a
transition-graph export that changes all its files together (NA-safe GraphML). Real files throughout."""

import json
import multiprocessing as mp
import os
import random
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from songnodes_assets.lib import gold
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.health import SourceHealth
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter
from songnodes_assets.sample_site.fake_apis import FakeApis

REPO = Path(__file__).resolve().parents[1]
PAGE = 4096
GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


# ---- corrupt state files ------------------------------------------------------------------------

def _fill(store: str, path: Path) -> None:
    """A valid, checkpointed file of many pages (no -wal left: every connection is closed)."""
    if store == "responses":
        c = ResponseCache(path)
        for i in range(200):
            c.put("s", f"k{i:03d}", 200, {"v": "x" * 300}, 3600)
    elif store == "ratelimit":
        for i in range(300):
            SharedRateLimiter(path, f"key-{i:03d}-" + "x" * 40, 0).reserve()
    else:
        h = SourceHealth(path)
        for i in range(300):
            h.failure(f"source-{i:03d}-" + "x" * 40)
    with closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    wal = Path(f"{path}-wal")
    assert (not wal.exists() or wal.stat().st_size == 0) and path.stat().st_size >= 8 * PAGE


def _garbage(store: str, path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(16 * PAGE))


def _truncated(store: str, path: Path) -> None:
    _fill(store, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _scrambled(store: str, path: Path) -> None:
    """Page 1 (the schema) intact, every later page garbage: opening works, the first query fails."""
    _fill(store, path)
    data = path.read_bytes()
    path.write_bytes(data[:PAGE] + random.Random(2).randbytes(len(data) - PAGE))


def _open(store: str, path: Path, log):
    if store == "responses":
        return ResponseCache(path, log=log)
    if store == "ratelimit":
        return SharedRateLimiter(path, "key-001-" + "x" * 40, 10.0, log=log)
    return SourceHealth(path, log=log)


def _use(store: str, obj, fresh: bool = True) -> None:
    """The first real use after a corruption works on an empty store (``fresh``), and later ones too."""
    if store == "responses":
        assert obj.get("s", "k001") is None
        obj.put("s", "k", 200, {"a": 1}, 60)
        assert obj.get("s", "k") == (200, {"a": 1}) and obj.count() == 1
    elif store == "ratelimit":
        first, second = obj.reserve(), obj.reserve()
        assert second == pytest.approx(first + 10.0) and (abs(first - time.time()) < 5 or not fresh)
    else:
        obj.failure("s")
        obj.success("s")
        row = obj.get("s")
        assert row["last_success_at"] and row["last_failure_at"] and obj.get("source-001-" + "x" * 40) is None


@pytest.mark.parametrize("damage", [_garbage, _truncated, _scrambled], ids=["random-bytes", "truncated", "scrambled"])
@pytest.mark.parametrize("store", ["responses", "ratelimit", "health"])
def test_corrupt_state_file_is_moved_aside_and_rebuilt(tmp_path, store, damage):
    path = tmp_path / f"{store}.sqlite"
    damage(store, path)
    bad = path.read_bytes()
    warnings: list[str] = []
    obj = _open(store, path, warnings.append)
    if damage is _scrambled:
        assert warnings == []  # the schema page reads fine: only a query finds the damage
    _use(store, obj)
    (aside,) = tmp_path.glob(f"{store}.sqlite.corrupt-*")
    assert aside.read_bytes() == bad and not aside.name.endswith(("-wal", "-shm"))
    (message,) = warnings
    assert str(path) in message and str(aside) in message
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    _use(store, _open(store, path, warnings.append), fresh=False)  # the rebuilt file stays healthy
    assert len(warnings) == 1


def test_corrupt_file_warns_on_the_module_logger_naming_it(tmp_path, caplog):
    path = tmp_path / "responses.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with caplog.at_level("WARNING", logger="songnodes_assets.lib.enrich.sqlite_state"):
        cache = ResponseCache(path)
    assert cache.get("s", "k") is None
    assert any(str(path) in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_a_stale_wal_and_shm_never_reach_the_rebuilt_file(tmp_path):
    path = tmp_path / "health.sqlite"
    path.write_bytes(b"\0" * PAGE * 4)
    Path(f"{path}-wal").write_bytes(b"old wal")
    Path(f"{path}-shm").write_bytes(b"old shm")
    SourceHealth(path, log=lambda m: None).failure("s")
    (aside,) = tmp_path.glob("health.sqlite.corrupt-*[0-9]Z")
    for suffix in ("-wal", "-shm"):  # moved aside with it, or already removed by SQLite on close
        assert not Path(f"{aside}{suffix}").exists() or Path(f"{aside}{suffix}").read_bytes().startswith(b"old")
        assert not Path(f"{path}{suffix}").exists() or b"old" not in Path(f"{path}{suffix}").read_bytes()
    assert SourceHealth(path).get("s")["last_failure_at"]


def _heal_and_put(path: str, key: str, barrier) -> None:
    barrier.wait()
    ResponseCache(path, log=lambda m: None).put("s", key, 200, {"k": key}, 60)


def test_processes_healing_at_once_move_the_file_aside_once(tmp_path):
    path = tmp_path / "responses.sqlite"
    _garbage("responses", path)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_heal_and_put, args=(str(path), f"k{i}", barrier)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len([p for p in tmp_path.glob("responses.sqlite.corrupt-*") if p.name.endswith("Z")]) == 1
    cache = ResponseCache(path)
    assert [cache.get("s", f"k{i}") for i in range(3)] == [(200, {"k": f"k{i}"}) for i in range(3)]


# ---- a full disk (RLIMIT_FSIZE in a child process, SIGXFSZ ignored) -----------------------------

FULL_DISK_CHILD = r"""
import json, resource, signal, sqlite3, sys
from pathlib import Path
from songnodes_assets.lib.enrich.api_client import ApiClient
from songnodes_assets.lib.enrich.cache import ResponseCache
from songnodes_assets.lib.enrich.health import SourceHealth
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter

kind, state, base = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
warnings, out = [], {}
path = state / f"{kind}.sqlite"
store = {"responses": lambda: ResponseCache(path, log=warnings.append),
         "ratelimit": lambda: SharedRateLimiter(path, "musicbrainz", 0, log=warnings.append),
         "health": lambda: SourceHealth(path, log=warnings.append)}[kind]()
held = sqlite3.connect(path)  # another process's connection: the WAL is kept, so every write must grow it
held.execute("SELECT count(*) FROM sqlite_master").fetchone()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
# 32 KiB: the -shm index fits, a growing WAL soon does not (the limiter's small file never reaches it)
resource.setrlimit(resource.RLIMIT_FSIZE, (32768 if kind == "responses" else 4096, resource.RLIM_INFINITY))
if kind == "responses":
    client = ApiClient("musicbrainz", base, limiter=SharedRateLimiter(state / "limiter.sqlite", "musicbrainz", 0),
                       cache=store, user_agent="SongNodesTest/1")
    results = [client.get_json("/ws/2/recording", {"query": f'recording:"Sombre Tones {i}"', "fmt": "json"},
                               ttl_for=lambda status, data: 3600) for i in range(12)]
    out["statuses"] = [r.status for r in results]
    out["from_cache"] = [r.from_cache for r in results]
    out["has_data"] = all(isinstance(r.data, dict) for r in results)
elif kind == "ratelimit":
    try:
        store.reserve()
        out["error"] = None
    except sqlite3.OperationalError as exc:
        out["error"] = str(exc)
else:
    store.failure("musicbrainz")
    store.breaker_opened("musicbrainz")
    store.success("musicbrainz")
    out["row"] = store.get("musicbrainz")
held.close()
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
if kind == "responses":
    out["cached"] = store.count()
out["warnings"] = warnings
print(json.dumps(out))
"""


def _full_disk(kind: str, state: Path, base: str = "") -> dict:
    state.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, kind, str(state), base], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_full_disk_under_the_cache_keeps_every_lookup_result(tmp_path):
    with FakeApis() as apis:
        out = _full_disk("responses", tmp_path / "state", apis.base_url_for("musicbrainz"))
        assert apis.calls("musicbrainz") == 12
    assert out["statuses"] == [200] * 12 and out["from_cache"] == [False] * 12 and out["has_data"]
    (warning,) = out["warnings"]  # once, naming the file
    assert str(tmp_path / "state" / "responses.sqlite") in warning and "without" in warning
    assert out["cached"] < 12  # later answers were not stored, and nothing failed


def test_full_disk_fails_the_rate_limiter_naming_its_file(tmp_path):
    out = _full_disk("ratelimit", tmp_path / "state")
    assert out["error"] and str(tmp_path / "state" / "ratelimit.sqlite") in out["error"]


def test_full_disk_health_writes_degrade_with_one_warning(tmp_path):
    out = _full_disk("health", tmp_path / "state")
    (warning,) = out["warnings"]
    assert str(tmp_path / "state" / "health.sqlite") in warning
    assert out["row"] is None  # nothing recorded, and no lookup was stopped


# ---- transition graph exports -------------------------------------------------------------------

EXPORTS = ("nodes.parquet", "edges.parquet", "nodes.csv", "edges.csv", "transition_graph.graphml")


def _graph(version: int = 1):
    """Nodes as the asset's LEFT JOIN yields them: tracks without a gold row have NA everywhere."""
    nodes = pd.DataFrame({
        "track_id": ["a", "b", "c", "d"],
        "artists": [["A1", "A2"], ["B"], np.array(["C"], dtype=object), ["D"]],
        "title": ["One & <Two>", 'Say "hi"', "Three", "Four\x01"],
        "remixers": [[], None, np.array([], dtype=object), ["R"]],
        "bpm": [124.0 + version, np.nan, None, 98.5],
        "musical_key": pd.array(["A minor", pd.NA, None, "C major"], dtype="string"),
        "camelot": ["8A", None, pd.NA, "8B"],
        "genres": [["house", "techno"], None, pd.NA, []],
        "is_mashup": pd.array([False, pd.NA, True, None], dtype="boolean"),
        "n_labels": pd.array([1, pd.NA, 3, None], dtype="Int64"),
        "enrichment_status": ["completed", None, None, "partial"],
    })
    edges = pd.DataFrame({"from_track_id": ["a", "b", "c", "a", "x"], "to_track_id": ["b", "c", "d", "d", "a"],
                          "weight": [3, 2, 1, version, 1]})
    return nodes, edges


def _graphml(path: Path):
    root = ET.parse(path).getroot()
    return root.findall(f".//{GRAPHML}node"), root.findall(f".//{GRAPHML}edge"), root.findall(f"{GRAPHML}key")


def test_graph_export_with_missing_gold_rows_writes_every_file(tmp_path):
    out = tmp_path / "transition_graph"
    out.mkdir()
    (out / "_transition_graph.graphml.partial").write_text("left by the old writer")
    nodes, edges = _graph()
    paths = gold.write_graph(nodes, edges, out)
    assert sorted(paths) == sorted(EXPORTS) and sorted(p.name for p in out.iterdir()) == sorted(EXPORTS)
    xml_nodes, xml_edges, keys = _graphml(out / "transition_graph.graphml")
    assert len(xml_nodes) == len(pd.read_parquet(out / "nodes.parquet")) == len(pd.read_csv(out / "nodes.csv")) == 4
    assert len(xml_edges) == len(pd.read_parquet(out / "edges.parquet")) == len(pd.read_csv(out / "edges.csv")) == 5
    types = {k.get("id"): k.get("attr.type") for k in keys}
    assert types["bpm"] == "double" and types["is_mashup"] == "boolean" and types["n_labels"] == "long"
    data = {n.get("id"): {d.get("key"): d.text for d in n} for n in xml_nodes}
    assert data["b"] == {"artists": "B", "title": 'Say "hi"'}  # no gold row: only what silver knows
    assert data["a"]["genres"] == "house; techno" and data["a"]["is_mashup"] == "false"
    assert data["a"]["title"] == "One & <Two>" and data["d"]["title"] == "Four"
    assert data["c"] == {"artists": "C", "title": "Three", "is_mashup": "true", "n_labels": "3"}
    assert "genres" not in data["d"] and "remixers" not in data["a"]  # empty lists are left out
    assert [e.get("source") for e in xml_edges] == list(edges["from_track_id"])


def test_failing_export_leaves_every_old_file_and_no_partial(tmp_path, monkeypatch):
    out = tmp_path / "transition_graph"
    gold.write_graph(*_graph(1), out)
    before = {name: (out / name).read_bytes() for name in EXPORTS}

    def broken(nodes, edges, path):
        Path(path).write_text("<graphml half written")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gold, "_write_graphml", broken)
    with pytest.raises(OSError, match="No space left"):
        gold.write_graph(*_graph(2), out)
    assert {name: (out / name).read_bytes() for name in EXPORTS} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORTS)

    monkeypatch.undo()
    gold.write_graph(*_graph(2), out)  # the next good run replaces all of them
    assert all((out / name).read_bytes() != before[name] for name in EXPORTS)
    assert pd.read_parquet(out / "edges.parquet")["weight"].tolist()[3] == 2


def test_failing_first_writer_publishes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "transition_graph"
    gold.write_graph(*_graph(1), out)
    before = {name: (out / name).stat().st_mtime_ns for name in EXPORTS}
    nodes, edges = _graph(2)
    nodes["bad"] = [object(), None, None, None]  # pyarrow cannot store it: the very first writer fails
    with pytest.raises(Exception):
        gold.write_graph(nodes, edges, out)
    assert {name: (out / name).stat().st_mtime_ns for name in EXPORTS} == before
    assert not [p for p in os.listdir(out) if p.endswith(".partial")]
