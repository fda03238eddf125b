"""Benchmark (not a test): `songnodes parse` end to end against the library call, on the same real lines.

Every tracklist line of ../shared/corpus/mixesdb (the reconstructed tracklists and the wikitext pages) is
repeated up to --lines lines and written to a scratch file. Each side runs in a fresh process with the same
parser build (SONGNODES_COMPILED_PARSER=1 or 0 in both environments):

- library: a worker process reads the file's lines (untimed), then times parse_tracklist(lines), the call
  silver makes, with the interpreter's defaults (cyclic GC on);
- CLI: the console script `songnodes parse FILE > /dev/null`, timed from the outside (process start, imports,
  read, parse, JSON lines written).

The two alternate (library, CLI, library, CLI, ...) --repeat times (default 3) and the best of each is kept,
so a burst of load elsewhere on the machine skews neither side alone. Wall time is the figure; CPU time
(user + system: the library call's own, the CLI process's whole) is printed beside it, steadier on a busy
machine. Both builds are measured when the
compiled parser (make compile) is usable, else the pure-Python one only. For reference the library call is
also timed with the cyclic GC off (the CLI turns it off for its one-shot run), which shows what the CLI adds
over the parse itself.

    .venv/bin/python scripts/bench_cli.py --lines 200000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "mixesdb"
BUILDS = {"compiled": "1", "pure": "0"}


def corpus_lines() -> list[str]:
    files = sorted((CORPUS / "tracklists" / "laceto_reconstructed").glob("*.txt")) + sorted(
        (CORPUS / "wikitext").glob("*.wiki"))
    if not files:
        raise SystemExit(f"no corpus at {CORPUS}")
    return [ln for f in files for ln in f.read_text(encoding="utf-8").splitlines()
            if ln.strip().startswith(("#", "[")) or " - " in ln]


def library_worker(path: str, gc_off: bool) -> int:
    """In a fresh process: the library call on the file's lines; prints seconds, entries and the build used."""
    import gc

    from songnodes_assets.lib.parsing import compiled
    from songnodes_assets.lib.parsing.tracklist import parse_tracklist

    lines = Path(path).read_bytes().decode("utf-8-sig").splitlines()
    if gc_off:
        gc.disable()
    t0, c0 = time.perf_counter(), time.process_time()
    entries = sum(1 for _ in parse_tracklist(lines))
    print(time.perf_counter() - t0, time.process_time() - c0, entries, int(compiled.in_use()))
    return 0


def _env(build: str) -> dict[str, str]:
    return {**os.environ, "SONGNODES_COMPILED_PARSER": BUILDS[build]}


def _library(path: str, build: str, gc_off: bool = False) -> tuple[tuple[float, float], int, bool]:
    """((wall s, CPU s), entries, compiled parser in use) of the library call in a fresh process."""
    cmd = [sys.executable, __file__, "--library-worker", path] + (["--gc-off"] if gc_off else [])
    out = subprocess.run(cmd, env=_env(build), capture_output=True, text=True, check=True).stdout.split()
    return (float(out[0]), float(out[1])), int(out[2]), out[3] == "1"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(path: str, build: str) -> tuple[float, float]:
    """(wall s, CPU s) of the console script, a new process, output to /dev/null."""
    exe = Path(sys.executable).parent / "songnodes"
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([str(exe), "parse", path], env=_env(build), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0, _children_cpu() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating; the best is kept")
    ap.add_argument("--build", choices=["both", *BUILDS], default="both")
    ap.add_argument("--library-worker", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--gc-off", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.library_worker:
        return library_worker(args.library_worker, args.gc_off)

    base = corpus_lines()
    lines = (base * (args.lines // len(base) + 1))[:args.lines]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    try:
        for build in BUILDS if args.build == "both" else [args.build]:
            _, entries, in_use = _library(fh.name, build)  # warm-up (disk cache, .pyc), and which build loads
            if in_use != (build == "compiled"):
                print(f"{build}: the compiled parser is not usable here (run `make compile`); skipped")
                continue
            library, cli, library_gc_off = [], [], []
            for _ in range(args.repeat):
                library.append(_library(fh.name, build)[0])
                cli.append(_cli(fh.name, build))
                library_gc_off.append(_library(fh.name, build, gc_off=True)[0])
            lib, best_cli, lib_off = (min(t[0] for t in runs) for runs in (library, cli, library_gc_off))
            lib_cpu, cli_cpu, lib_off_cpu = (min(t[1] for t in runs) for runs in (library, cli, library_gc_off))
            print(f"{build:8s} {len(lines)} lines, {entries} entries, best of {args.repeat}: library {lib:.2f} s "
                  f"({len(lines) / lib:,.0f} lines/s), CLI {best_cli:.2f} s, CLI/library {best_cli / lib:.2f}; "
                  f"CPU {lib_cpu:.2f} s / {cli_cpu:.2f} s = {cli_cpu / lib_cpu:.2f}")
            print(f"{'':8s} library with its cyclic GC off too (as the CLI runs): {lib_off:.2f} s, CLI/that "
                  f"{best_cli / lib_off:.2f}; CPU {lib_off_cpu:.2f} s, CLI/that {cli_cpu / lib_off_cpu:.2f}")
    finally:
        Path(fh.name).unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
