"""Benchmark (not a test): our line parser against the original SongNodes parser, side by side.

The original (zvirb/songnodes: ``scrapers/spiders/utils.py`` and ``scrapers/track_id_generator.py``) is
never part of this repository; put those two files in a scratch folder and point --original at it:

    git -C <mirror of zvirb/songnodes> show HEAD:scrapers/spiders/utils.py > /tmp/orig/orig_utils.py
    git -C <mirror of zvirb/songnodes> show HEAD:scrapers/track_id_generator.py > /tmp/orig/track_id_generator.py
    taskset -c 0 .venv/bin/python scripts/bench_vs_original.py --original /tmp/orig [--unique-names]
    # our parser as built by `make compile` is used when present; SONGNODES_COMPILED_PARSER=0 measures pure Python

Input: every tracklist line of ../shared/corpus/mixesdb (the lines silver parses out of the wikitext
pages and the reconstructed tracklists), repeated to --lines. Each side does its whole per-line job:
 - ours: ``parse_tracklist`` per page (markup, cue, sections, placeholders, labels, credits, track id);
 - original: the MixesDB spider's label pre-step, ``parse_track_string`` and, for the lines the spider
   keeps, ``generate_track_id_from_parsed``.
The two alternate A B A B in one process (--rounds each) and the best round of each is reported, with the
ratio ours/original. ``--unique-names`` makes every repetition's names unique, so no name cache helps.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "mixesdb"
_LABEL_PRE_STEP = re.compile(r"\[([^\]]+?)\s+-\s+([^\]]+?)\]")  # the spider's own pattern, run before parsing
_LIST_MARKER = re.compile(r"^\s*[#*:]+\s*")


def corpus_pages() -> list[list[str]]:
    """Tracklist lines per page, as silver sees them."""
    from songnodes_assets.lib.parsing.mixesdb_page import parse_wikitext

    pages = []
    for f in sorted((CORPUS / "wikitext").glob("*.wiki")):
        page = parse_wikitext(f.read_text(encoding="utf-8"), f.stem)
        pages.append([ln for _, ln in page.tracklist_lines if ln.strip()])
    for f in sorted((CORPUS / "tracklists" / "laceto_reconstructed").glob("*.txt")):
        pages.append([ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()])
    pages = [p for p in pages if p]
    if not pages:
        raise SystemExit(f"no corpus at {CORPUS}")
    return pages


def build_input(n_lines: int, unique: bool) -> list[list[str]]:
    base = corpus_pages()
    per_rep = sum(len(p) for p in base)
    out: list[list[str]] = []
    written = 0
    rep = 0
    while written < n_lines:
        for page in base:
            lines = page if not unique else [ln.replace(" - ", f" Q{rep} - Q{rep} ", 1) for ln in page]
            lines = lines[: n_lines - written]
            out.append(lines)
            written += len(lines)
            if written >= n_lines:
                break
        rep += 1
    print(f"{written} lines ({per_rep} distinct corpus lines x {rep} repetitions, "
          f"{'unique names per repetition' if unique else 'names repeat'})")
    return out


def run_ours(pages: list[list[str]]) -> int:
    from songnodes_assets.lib.parsing.tracklist import parse_tracklist

    n = 0
    for page in pages:
        n += len(parse_tracklist(page))
    return n


def load_original(folder: Path):
    sys.path.insert(0, str(folder))
    logging.disable(logging.CRITICAL)
    utils = importlib.import_module("orig_utils")
    ids = importlib.import_module("track_id_generator")
    return utils.parse_track_string, ids.generate_track_id_from_parsed


def run_original(pages: list[list[str]], parse, make_id) -> int:
    n = 0
    for page in pages:
        for raw in page:
            track_string = _LIST_MARKER.sub("", raw, count=1).strip()
            if not track_string:
                continue
            m = _LABEL_PRE_STEP.search(track_string)
            if m:
                track_string = track_string[: m.start()].strip()
            parsed = parse(track_string)
            if parsed is None or parsed["track_name"].lower() in ("id", "?", "unknown") or not parsed["primary_artists"]:
                continue
            make_id(parsed)
            n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--original", type=Path, required=True, help="folder with orig_utils.py and track_id_generator.py")
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--unique-names", action="store_true")
    args = ap.parse_args()
    parse, make_id = load_original(args.original)
    from songnodes_assets.lib.parsing import compiled

    print("our parser:", "compiled (mypyc, make compile)" if compiled.in_use() else "pure Python")
    pages = build_input(args.lines, args.unique_names)
    total = sum(len(p) for p in pages)
    best = {"ours": float("inf"), "original": float("inf")}
    for r in range(args.rounds):
        for name, fn in (("ours", lambda: run_ours(pages)), ("original", lambda: run_original(pages, parse, make_id))):
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            best[name] = min(best[name], dt)
            print(f"round {r + 1} {name:8s} {dt:6.2f} s  {total / dt:9,.0f} lines/s  ({out} rows)")
    ours, orig = total / best["ours"], total / best["original"]
    print(f"best: ours {ours:,.0f} lines/s, original {orig:,.0f} lines/s, ours/original {ours / orig:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
