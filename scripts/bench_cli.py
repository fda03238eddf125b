"""Benchmark (not a test): `songnodes parse` end to end against the library call, on the same real lines.

Every tracklist line of ../shared/corpus/mixesdb (the reconstructed tracklists and the wikitext pages) is
repeated up to --lines lines; the library call (parse_tracklist, entries consumed) and the console script
(a new process: read, parse, JSON lines to /dev/null) are timed once each, and the ratio printed.

    .venv/bin/python scripts/bench_cli.py --lines 200000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "mixesdb"


def corpus_lines() -> list[str]:
    files = sorted((CORPUS / "tracklists" / "laceto_reconstructed").glob("*.txt")) + sorted(
        (CORPUS / "wikitext").glob("*.wiki"))
    if not files:
        raise SystemExit(f"no corpus at {CORPUS}")
    return [ln for f in files for ln in f.read_text(encoding="utf-8").splitlines()
            if ln.strip().startswith(("#", "[")) or " - " in ln]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    from songnodes_assets.lib.parsing.tracklist import parse_tracklist

    base = corpus_lines()
    lines = (base * (args.lines // len(base) + 1))[:args.lines]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    entries = sum(1 for _ in parse_tracklist(lines))
    library = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "songnodes"), "parse", fh.name], stdout=subprocess.DEVNULL,
                   check=True)
    cli = time.perf_counter() - t0
    Path(fh.name).unlink()
    print(f"{len(lines)} lines, {entries} entries: library {library:.2f} s ({len(lines) / library:,.0f} lines/s), "
          f"CLI {cli:.2f} s, CLI/library {cli / library:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
