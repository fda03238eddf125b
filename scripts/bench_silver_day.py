"""Benchmark (not a test): memory and time of the silver build for a day of huge pages.

    python scripts/bench_silver_day.py --pages 10 --lines-per-page 200000

Generates PAGES MixesDB-style pages of LINES_PER_PAGE tracklist lines each (the line mix of
bench_parse.py: cues, labels, remixes, feat., placeholders, gaps, sections, w/ mashups), writes them to a
bronze partition, then in a child process materialises the silver asset through Dagster (bodies read a row
group at a time, the per-page line cap applied, entries spilled and the big tables streamed, the validated,
staged write of all five tables, the blocking checks) and reports wall time and peak RSS of that child.
``--max-lines-per-page`` overrides SONGNODES_MAX_LINES_PER_PAGE (default 10 000) to see the cost without the cap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

DATE = "2024-05-01"


def big_pages(n_pages: int, lines_per_page: int) -> list[tuple[str, str]]:
    from bench_parse import gen_pages

    small = gen_pages(lines_per_page * min(n_pages, 2))  # ~40-line pages; their lines reused across big pages
    lines = [ln for _, body in small for ln in body.splitlines()[2:-2] if ln.strip()]
    pages = []
    for p in range(n_pages):
        rot = lines[p * 997 % len(lines):] + lines[: p * 997 % len(lines)]
        body = "== Tracklist ==\n\n" + "\n".join(rot[:lines_per_page]) + "\n\n[[Category:Techno]]\n"
        pages.append((f"2024-05-0{1 + p % 9} - Marathon DJ {p} - 24h Set", body))
    return pages


def child(root: str, cap: int) -> None:
    """The silver asset itself, materialised by Dagster with the line cap set (see bench_parse.silver_asset_child)."""
    import os

    from bench_parse import silver_asset_child

    os.environ["SONGNODES_MAX_LINES_PER_PAGE"] = str(cap)
    silver_asset_child(root)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=10)
    ap.add_argument("--lines-per-page", type=int, default=200_000)
    ap.add_argument("--max-lines-per-page", type=int, default=10_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.max_lines_per_page)
        return 0
    from bench_parse import silver_in_child

    pages = big_pages(args.pages, args.lines_per_page)
    mb = sum(len(b.encode()) for _, b in pages) / 1e6
    print(f"{len(pages)} pages x {args.lines_per_page} lines ({mb:.0f} MB of wikitext)", flush=True)
    return silver_in_child(pages, [__file__, "--max-lines-per-page", str(args.max_lines_per_page), "--child"])


if __name__ == "__main__":
    sys.exit(main())
