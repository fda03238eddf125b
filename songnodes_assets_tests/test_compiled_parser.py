"""The optional mypyc build of the line parser: built by the real script, loaded only while it matches its
sources, and giving exactly the pure-Python output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from songnodes_assets.lib.parsing import compiled

REPO = Path(__file__).resolve().parents[1]
DUMP = """
import dataclasses, json, sys
from pathlib import Path
from songnodes_assets.lib.parsing import compiled
from songnodes_assets.lib.parsing.mixesdb_page import parse_wikitext
from songnodes_assets.lib.parsing.tracklist import parse_tracklist
corpus = Path(sys.argv[1])
pages = [[l for _, l in parse_wikitext(f.read_text(encoding="utf-8"), f.stem).tracklist_lines]
         for f in sorted(corpus.glob("mixesdb/wikitext/*.wiki")) + sorted(Path(sys.argv[2]).glob("*.wiki"))]
pages += [f.read_text(encoding="utf-8").splitlines()
          for f in sorted(corpus.glob("mixesdb/tracklists/laceto_reconstructed/*.txt"))]
rows = [[dataclasses.astuple(e) for e in parse_tracklist(p)] for p in pages]
print(json.dumps({"compiled": compiled.in_use(), "rows": rows, "n": sum(map(len, rows))}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONGNODES_COMPILED_PARSER")}
    env.update(extra)
    return env


def _dump(**extra: str) -> dict:
    done = subprocess.run([sys.executable, "-c", DUMP, str(REPO.parent / "shared" / "corpus"),
                           str(REPO / "songnodes_assets" / "sample_site" / "pages")],
                          capture_output=True, text=True, env=_env(**extra), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compiled") / "build"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "compile_parser.py"), "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert sorted(p.name.split(".")[0] for p in out.glob("*.so") if "__mypyc" not in p.name) == sorted(
        m[:-3] for m in compiled.MODULES)
    return out


def test_compiled_build_gives_exactly_the_pure_python_output(build):
    pure = _dump(SONGNODES_COMPILED_PARSER="0")
    fast = _dump(SONGNODES_COMPILED_PARSER_DIR=str(build))
    assert pure["compiled"] is False and fast["compiled"] is True
    assert pure["n"] > 300
    assert fast["rows"] == pure["rows"]


def test_a_build_is_not_used_when_a_source_changed_for_another_python_or_switched_off(build, tmp_path):
    assert compiled.usable_build() is None or compiled.usable_build() == compiled.DEFAULT_DIR
    os.environ["SONGNODES_COMPILED_PARSER_DIR"] = str(build)
    try:
        assert compiled.usable_build() == build
        os.environ["SONGNODES_COMPILED_PARSER"] = "0"
        assert compiled.usable_build() is None
        del os.environ["SONGNODES_COMPILED_PARSER"]
        # a source edited after the build: the stale build is ignored
        package = tmp_path / "parsing"
        shutil.copytree(compiled.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("_compiled", "__pycache__"))
        assert compiled.usable_build(package) == build
        with open(package / "line.py", "a") as fh:
            fh.write("\n# edited\n")
        assert compiled.usable_build(package) is None
        # built by another interpreter
        manifest = json.loads((build / compiled.MANIFEST).read_text())
        stale = tmp_path / "other"
        shutil.copytree(build, stale)
        (stale / compiled.MANIFEST).write_text(json.dumps({**manifest, "cache_tag": "cpython-399"}))
        os.environ["SONGNODES_COMPILED_PARSER_DIR"] = str(stale)
        assert compiled.usable_build() is None
        os.environ["SONGNODES_COMPILED_PARSER_DIR"] = str(tmp_path / "absent")
        assert compiled.usable_build() is None
    finally:
        os.environ.pop("SONGNODES_COMPILED_PARSER_DIR", None)
        os.environ.pop("SONGNODES_COMPILED_PARSER", None)
    # and a stale build in a subprocess: the pure modules load
    assert _dump(SONGNODES_COMPILED_PARSER_DIR=str(stale))["compiled"] is False
