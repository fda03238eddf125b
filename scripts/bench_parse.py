"""Benchmark (not a test): parser throughput and the silver build on a generated corpus.

    python scripts/bench_parse.py --lines 1000000

Generates MixesDB-style tracklists (cues, labels, remixes, versions, feat., placeholders, gaps,
sections, w/ mashups) in pages of ~40 lines -- by default with a Zipf-like track popularity over a long tail of
unique names (--names small: the old 2 000 artists / 5 000 titles) -- then reports
  1. parse throughput (lines/s) of ``parse_tracklist`` alone;
  2. the silver asset itself, materialised by Dagster on the bronze partition (streamed read, parse, frames,
     contracts, blocking checks, staged write of the five tables): wall time and peak RSS, measured in a child
     process so the generator's memory is not counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB: VmHWM starts afresh at exec, whereas ru_maxrss carries over the RSS
    of the parent that spawned the child (Linux folds the pre-exec memory into it), overstating a child's peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

FIRST = ["Ben", "Amelie", "Richie", "Charlotte", "Peggy", "Kerri", "Honey", "Robert", "Nina", "Jeff", "Ellen", "Dixon",
         "Âme", "Tiësto", "Marcel", "Sven", "Laurent", "Carl", "Derrick", "Juan", "Kevin", "Maya", "Ida", "Len"]
LAST = ["Klock", "Lens", "Hawtin", "de Witte", "Gou", "Chandler", "Dijon", "Hood", "Kraviz", "Mills", "Allien",
        "Dettmann", "Väth", "Garnier", "Craig", "May", "Atkins", "Saunderson", "Jane", "Engel", "Faust", "Øre"]
WORDS = ["Night", "Acid", "Dream", "Signal", "Body", "Machine", "Echo", "Rain", "Groove", "Pulse", "Orbit", "Shadow",
         "Light", "Tension", "Motion", "Spirit", "Wave", "Circuit", "Fever", "Static", "Jupiter", "Phase", "Dust"]
LABELS = ["Klockworks - KW 20", "Ostgut Ton", "M-Plant - M.PM1", "Tresor - 298", "Drumcode - DC 178", "Innervisions",
          "KNTXT", "Ninja Tune - ZEN 275", "Unreleased", "Planet E - PE 65"]


def _generate(n_lines: int, rng: random.Random, pick, decorate, dj, categories: str) -> list[tuple[str, str]]:
    """Pages of 25-55 lines: placeholders, gaps, sections, w/ lines, "Artist - ID" and credited lines;
    pick(i) -> (artist, title) of line i, decorate(artist, title) -> (co-artist, feat, descriptors, label)."""
    pages: list[tuple[str, str]] = []
    written = page_no = 0
    while written < n_lines:
        page_no += 1
        n = min(rng.randint(25, 55), n_lines - written)
        lines = []
        for i in range(n):
            r = rng.random()
            cue = f"[{i * 3:03d}] " if rng.random() < 0.7 else ("[??] " if rng.random() < 0.5 else "")
            a, t = pick(i)
            if r < 0.06:
                lines.append(f"{cue}?")
            elif r < 0.09:
                lines.append("...")
            elif r < 0.11:
                lines.append(f";Part {i // 20 + 1}")
            elif r < 0.13:
                lines.append(f"w/ {a} - {t}")
            elif r < 0.16:
                lines.append(f"{cue}{a} - ID")
            else:
                co, feat, extra, label = decorate(a, t)
                lines.append(f"{cue}{a}{co}{feat} - {t}{extra}{label}")
        written += n
        title = f"2024-{1 + page_no % 12:02d}-{1 + page_no % 28:02d} - {dj()} - Bench Mix {page_no}"
        body = "== Tracklist ==\n\n" + "\n".join(f"# {ln}" if not ln.startswith((";", "w/", "...")) else ln
                                                  for ln in lines) + "\n\n" + categories
        pages.append((title, body))
    return pages


def gen_pages(n_lines: int, seed: int = 7) -> list[tuple[str, str]]:
    """Names from a small pool (2 000 artists, 5 000 titles): the name caches always hit."""
    rng = random.Random(seed)
    artists = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(2000)]
    titles = [" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(5000)]
    pool = [(rng.choice(artists), rng.choice(titles)) for _ in range(40000)]

    def decorate(a, t):
        extra = ""
        if rng.random() < 0.25:
            extra += f" ({rng.choice(artists)} Remix)"
        if rng.random() < 0.2:
            extra += " (Extended Mix)"
        feat = f" feat. {rng.choice(artists)}" if rng.random() < 0.08 else ""
        co = f" & {rng.choice(artists)}" if rng.random() < 0.12 else ""
        label = f" [{rng.choice(LABELS)}]" if rng.random() < 0.6 else ""
        return co, feat, extra, label

    return _generate(n_lines, rng, lambda i: rng.choice(pool), decorate, lambda: rng.choice(artists),
                     "[[Category:Techno]]\n")


def gen_pages_zipf(n_lines: int, seed: int = 7) -> list[tuple[str, str]]:
    """Pages whose tracks follow a Zipf-like popularity over a catalogue of about n_lines / 3 tracks by about
    n_lines / 8 artists, most of them seen once or twice (realistic: a few anthems, a long tail), in the line
    shapes of gen_pages; category lines in every body (silver leaves them out of the tracklist)."""
    import numpy as np

    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    n_tracks, n_artists = max(n_lines // 3, 100), max(n_lines // 8, 50)
    artists = [f"{rng.choice(FIRST)} {rng.choice(LAST)}{'' if i < 500 else f' {i:x}'}" for i in range(n_artists)]
    titles = [" ".join(rng.sample(WORDS, rng.randint(1, 3))) + ("" if i < 2000 else f" {i}") for i in range(n_tracks)]
    track_artist = nprng.zipf(1.3, n_tracks) % n_artists
    picks = iter(nprng.zipf(1.15, n_lines + 1000) % n_tracks)
    current = [0]

    def pick(i):
        t = current[0] = int(next(picks))
        return artists[int(track_artist[t])], titles[t]

    def decorate(a, title):
        t = current[0]
        extra = f" ({rng.choice(artists)} Remix)" if t % 4 == 0 else ""
        extra += " (Extended Mix)" if rng.random() < 0.2 else ""
        feat = f" feat. {artists[(t * 7) % n_artists]}" if t % 12 == 1 else ""
        co = f" & {artists[(t * 13) % n_artists]}" if t % 8 == 2 else ""
        label = f" [{LABELS[t % len(LABELS)]}]" if t % 5 < 3 else ""
        return co, feat, extra, label

    return _generate(n_lines, rng, pick, decorate, lambda: rng.choice(artists),
                     "[[Category:Techno]]\n[[Category:Live]]\n")


def bench_parse(pages) -> dict:
    """parse_tracklist over each page's tracklist section, cut out as silver does (category lines excluded)."""
    from songnodes_assets.lib.parsing.mixesdb_page import parse_wikitext
    from songnodes_assets.lib.parsing.tracklist import parse_tracklist

    sections = [parse_wikitext(body, title).tracklist_lines for title, body in pages]
    n_lines = sum(1 for lines in sections for _, text in lines if text.strip())
    t0 = time.perf_counter()
    n_entries = 0
    for lines in sections:
        n_entries += len(parse_tracklist(lines))
    secs = time.perf_counter() - t0
    return {"tracklist_lines": n_lines, "entries": n_entries, "parse_seconds": round(secs, 2),
            "lines_per_second": int(n_lines / secs)}


def write_bronze(pages, path: Path) -> None:
    from songnodes_assets.lib.schemas import BRONZE_RAW

    now = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    rows = []
    for title, body in pages:
        data = body.encode()
        url = "https://www.mixesdb.com/w/" + title.replace(" ", "_") + "?action=raw"
        rows.append({"scrape_date": "2024-05-01", "source": "mixesdb", "record_kind": "page", "url": url,
                     "final_url": url, "page_title": title, "status": 200, "content_type": "text/x-wiki",
                     "headers_json": "{}", "fetched_at": now, "sha256": hashlib.sha256(data).hexdigest(),
                     "body": data, "body_bytes": len(data), "error_kind": None, "error": None, "attempts": 1,
                     "elapsed_ms": 1, "fetcher_version": "bench", "run_id": "bench"})
    from songnodes_assets.lib.iceberg_lakehouse import open_lake

    # SONGNODES_TABLE_FORMAT=iceberg: the day's bronze and silver as Iceberg tables (SQLite catalog beside it)
    open_lake(path).write(BRONZE_RAW, BRONZE_RAW.conform(rows), "2024-05-01", file_name="run-bench.parquet")


def silver_asset_child(root: str) -> None:
    """Runs in a child process: the silver asset itself, materialised by Dagster (streamed bronze read, parse,
    frames, contracts, the blocking checks, staged write and publish of the five tables)."""
    import dagster as dg

    from songnodes_assets.defs.resources import resources_from_settings
    from songnodes_assets.defs.silver.tables import silver_tables
    from songnodes_assets.settings import Settings

    os.environ["SONGNODES_LAKEHOUSE_ROOT"] = root
    resources = resources_from_settings(Settings.from_env())
    t0 = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        res = dg.materialize([silver_tables], instance=instance, partition_key="2024-05-01", resources=resources,
                             raise_on_error=False)
    secs = time.perf_counter() - t0
    md = {m.asset_key.to_user_string(): m.metadata.get("row_count") for m in res.asset_materializations_for_node(
        "silver_tables")}
    checks = [e.event_specific_data for e in res.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    print(json.dumps({
        "success": res.success, "rows": {k: getattr(v, "value", v) for k, v in md.items()},
        "checks_passed": sum(c.passed for c in checks), "checks": len(checks),
        "silver_asset_s": round(secs, 2), "peak_rss_mb": peak_rss_mb(),
    }))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--names", choices=["zipf", "small"], default="zipf",
                    help="zipf: a long tail of unique names (default); small: 2 000 artists / 5 000 titles")
    ap.add_argument("--silver-asset-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.silver_asset_child:
        silver_asset_child(args.silver_asset_child)
        return 0
    from songnodes_assets.lib.parsing import compiled

    print("parser:", "compiled (mypyc)" if compiled.in_use() else "pure Python", flush=True)
    t0 = time.perf_counter()
    pages = gen_pages_zipf(args.lines) if args.names == "zipf" else gen_pages(args.lines)
    print(f"generated {len(pages)} pages / {args.lines} lines in {time.perf_counter() - t0:.1f}s", flush=True)
    print("parse:", json.dumps(bench_parse(pages)), flush=True)
    return silver_in_child(pages, [__file__, "--silver-asset-child"])


def silver_in_child(pages, command: list[str]) -> int:
    """Write ``pages`` to a bronze partition in a temp lakehouse (the list is emptied to free its memory), run
    ``python *command <lakehouse>`` in a child process (so only the silver build's memory is measured) and
    print its JSON line."""
    with tempfile.TemporaryDirectory() as tmp:
        write_bronze(pages, Path(tmp))
        pages.clear()
        out = subprocess.run([sys.executable, *command, tmp], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        print("silver:", out.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
