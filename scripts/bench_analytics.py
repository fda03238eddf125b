"""Benchmark (not a test): time and peak RSS of the gold analytics builders, and CLI query latency.

    python scripts/bench_analytics.py --transitions 1000000 --tracks 300000
    python scripts/bench_analytics.py --transitions 20000 --tracks 5000      # quick mode

Generates a lakehouse directly as contract-valid parquet (``Lakehouse.write``: the silver tables and
``gold.enriched_tracks``; the wiki parser would be far too slow at this size): playlists of 12-30 tracks drawn
with Zipf-like popularity (p ∝ 1 / rank^1.05), so a few tracks are everywhere and most are rare; about half of
the tracks get a BPM (some at half time) and a Camelot code. Then each builder runs in its own child process
(``connect`` → build → write the single gold file) and reports wall time and that child's peak RSS
(VmHWM of a fresh process, so the number is the builder's own). gold.next_tracks is streamed
(``iter_next_tracks`` batches → one ParquetWriter) sorted by from_track_id in row groups of 20 000 rows, and
gold.track_analytics is sorted by track_id, so a point lookup reads one row group (min/max pruning).
Finally, in another child, 50 random tracks: ``resolve_track`` (their "Artist - Title") and
``query.next_tracks`` against views over the built files; median and p95 latency.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_parse import peak_rss_mb  # noqa: E402

DATE = "2024-05-01"
BUILT = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)


def credits(i: int, n_artists: int) -> tuple[list[str], list[str], list[str]]:
    """Deterministic credits of track i: one primary artist; 20 % a co-artist, 10 % a featured artist, 15 % a
    remixer (so collaborations exist), drawn from n_artists names."""
    primary = [f"Artist {i % n_artists}"]
    if i % 5 == 0:
        primary.append(f"Artist {(i * 7 + 3) % n_artists}")
    featured = [f"Artist {(i * 13 + 5) % n_artists}"] if i % 10 == 1 else []
    remixers = [f"Artist {(i * 31 + 11) % n_artists}"] if i % 7 == 2 else []
    return primary, featured, remixers


def generate(root: Path, n_transitions: int, n_tracks: int, seed: int = 7) -> dict:
    import numpy as np
    import pandas as pd

    from songnodes_assets.lib.camelot import key_name
    from songnodes_assets.lib.lakehouse import Lakehouse
    from songnodes_assets.lib.schemas import (GOLD_ENRICHED, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_PROBLEMS,
                                              SILVER_TRACKS, SILVER_TRANSITIONS)

    rng = np.random.default_rng(seed)
    lake = Lakehouse(root)
    fetched = pd.Timestamp("2024-05-01 12:00", tz="UTC").as_unit("ns")
    pop = 1.0 / np.arange(1, n_tracks + 1) ** 1.05
    pop /= pop.sum()
    perm = rng.permutation(n_tracks)  # popularity rank -> track index (ids not sorted by popularity)
    lengths, total = [], 0
    while total < n_transitions:
        n = int(rng.integers(12, 31))
        lengths.append(n)
        total += n - 1
    n_pl = len(lengths)
    lengths = np.array(lengths)
    picks = perm[rng.choice(n_tracks, size=int(lengths.sum()), p=pop)]
    pl_of = np.repeat(np.arange(n_pl), lengths)
    starts = np.cumsum(lengths) - lengths
    position = np.arange(len(picks)) - np.repeat(starts, lengths) + 1
    pids = np.array([f"p{i:020x}" for i in range(n_pl)], dtype=object)
    n_artists = max(10, n_tracks // 5)
    cred = [credits(int(i), n_artists) for i in range(n_tracks)]
    from songnodes_assets.lib.ids import make_track_id
    # the id the line parser gives each track's name ("A & B - Track i (R Remix)")
    ids = np.array([make_track_id(c[0], f"Track {i}", c[2]) for i, c in enumerate(cred)], dtype=object)
    n_djs = 4000
    dj_of = rng.integers(0, n_djs, size=n_pl)
    mix_days = rng.integers(0, 3 * 365, size=n_pl)
    base = dt.date(2021, 5, 1)

    pl = pd.DataFrame({"playlist_id": pids, "source": "mixesdb", "url": [f"http://bench/{p}" for p in pids],
                       "scrape_date": DATE, "page_title": [f"Mix {i}" for i in range(n_pl)],
                       "mix_date": [(base + dt.timedelta(days=int(d))).isoformat() for d in mix_days],
                       "date_precision": "day", "djs": [[f"DJ {d}"] for d in dj_of], "show": None, "venue": None,
                       "is_live": False, "categories": [["Techno"]] * n_pl,
                       "genres": [[["Techno", "House", "Trance"][i % 3]] for i in range(n_pl)], "entities": [[]] * n_pl,
                       "tracklist_status": None, "has_tracklist_section": True, "n_entries": lengths,
                       "n_identified": lengths, "n_placeholders": 0, "n_gaps": 0, "n_unparsed": 0, "n_mashups": 0,
                       "fetched_at": fetched, "sha256": None, "parser_version": "bench"})
    lake.write(SILVER_PLAYLISTS, SILVER_PLAYLISTS.conform(pl), DATE)
    del pl

    # 10 % of entries spell the primary artist in lower case (a variant the canonical artists merge)
    artists = [[a.lower() for a in cred[i][0]] if k % 10 == 3 else cred[i][0] for k, i in enumerate(picks)]
    pt = pd.DataFrame({"playlist_id": pids[pl_of], "source": "mixesdb", "url": "http://bench/x", "scrape_date": DATE,
                       "line_no": position + 2, "position": position, "section": None, "section_index": 0,
                       "entry_type": "track", "outcome": "identified", "raw_line": "# bench",
                       "cue_raw": None, "cue_seconds": None, "cue_valid": None, "artists": artists,
                       "featured": [cred[i][1] for i in picks], "title": [f"Track {i}" for i in picks],
                       "title_full": None, "remixers": [cred[i][2] for i in picks], "version": None,
                       "label": [f"Label {i % 900}" if i % 3 == 0 else None for i in picks],
                       "catalog_number": None, "is_identified": True, "is_mashup": False, "is_uncertain": False,
                       "component_of": None, "component_index": None, "track_id": ids[picks], "note": None,
                       "parser_version": "bench"})
    pt = SILVER_PLAYLIST_TRACKS.conform(pt)
    lake.write(SILVER_PLAYLIST_TRACKS, pt, DATE)
    n_entries = len(pt)
    del pt, artists

    same = np.zeros(len(picks), dtype=bool)
    same[starts] = True  # first entry of a playlist has no predecessor
    frm, to = picks[:-1], picks[1:]
    keep = ~same[1:] & (frm != to)
    tr = pd.DataFrame({"from_track_id": ids[frm[keep]], "to_track_id": ids[to[keep]],
                       "playlist_id": pids[pl_of[1:][keep]], "section_index": 0,
                       "from_position": position[:-1][keep], "to_position": position[1:][keep],
                       "from_line_no": position[:-1][keep] + 2, "to_line_no": position[1:][keep] + 2,
                       "scrape_date": DATE, "parser_version": "bench"})
    lake.write(SILVER_TRANSITIONS, SILVER_TRANSITIONS.conform(tr), DATE)
    n_occ = len(tr)
    del tr

    idx = np.arange(n_tracks)
    counts = np.bincount(picks, minlength=n_tracks)
    tracks = pd.DataFrame({"track_id": ids, "artists": [cred[i][0] for i in idx],
                           "featured": [cred[i][1] for i in idx], "title": [f"Track {i}" for i in idx],
                           "remixers": [cred[i][2] for i in idx], "version": None, "label": None, "catalog_number": None,
                           "is_mashup": False, "first_seen_at": fetched, "first_seen_playlist_id": pids[0],
                           "n_occurrences": counts, "scrape_date": DATE, "parser_version": "bench"})
    lake.write(SILVER_TRACKS, SILVER_TRACKS.conform(tracks), DATE)
    del tracks
    lake.write(SILVER_PROBLEMS, SILVER_PROBLEMS.conform([]), DATE)

    enriched = idx[rng.random(n_tracks) < 0.5]
    pcs, modes = rng.integers(0, 12, size=len(enriched)), rng.integers(0, 2, size=len(enriched))
    bpm = np.round(rng.normal(126, 6, size=len(enriched)), 1)
    bpm[rng.random(len(enriched)) < 0.05] /= 2  # some tagged at half time
    from songnodes_assets.lib.camelot import camelot
    mode_txt = np.where(modes == 1, "major", "minor")
    en = pd.DataFrame({c.name: None for c in GOLD_ENRICHED.columns}, index=range(len(enriched)))
    en["track_id"] = ids[enriched]
    en["artists"] = [cred[i][0] for i in enriched]
    en["title"] = [f"Track {i}" for i in enriched]
    en["remixers"] = [cred[i][2] for i in enriched]
    en["is_mashup"] = False
    en["bpm"] = bpm
    en["musical_key"] = [key_name(int(p), m) for p, m in zip(pcs, mode_txt)]
    en["camelot"] = [camelot(int(p), m) for p, m in zip(pcs, mode_txt)]
    en["genres"] = [[["Techno", "House"][i % 2]] for i in enriched]
    en["key_pitch_class"], en["mode"] = pcs, mode_txt
    en["sources_used"], en["sources_failed"] = [["getsongbpm"]] * len(enriched), [[]] * len(enriched)
    en["status"], en["scrape_date"], en["built_at"] = "ok", DATE, pd.Timestamp(BUILT).as_unit("ns")
    lake.write(GOLD_ENRICHED, GOLD_ENRICHED.conform(en), DATE)
    return {"playlists": n_pl, "entries": n_entries, "transition_occurrences": n_occ, "tracks": n_tracks,
            "enriched": int(len(enriched))}


def child_build(root: str, which: str) -> None:
    """One builder exactly as its asset runs it: the sandboxed catalog with the asset's memory limit, the
    builder, and the validated atomic single-file write (Lakehouse.write_single)."""
    from songnodes_assets.defs.gold.analytics import _memory_limit
    from songnodes_assets.lib.analytics import artists as art
    from songnodes_assets.lib.analytics.playlists import build_playlist_analytics
    from songnodes_assets.lib.analytics.recommend import iter_next_tracks
    from songnodes_assets.lib.analytics.tracks import build_track_analytics
    from songnodes_assets.lib.catalog import connect
    from songnodes_assets.lib.lakehouse import Lakehouse
    from songnodes_assets.lib.schemas import (GOLD_ARTIST_ANALYTICS, GOLD_ARTIST_COLLABORATIONS, GOLD_ARTISTS,
                                              GOLD_NEXT_TRACKS, GOLD_PLAYLIST_ANALYTICS, GOLD_TRACK_ANALYTICS)

    t0 = time.perf_counter()
    lake = Lakehouse(root)
    con = connect(root, memory_limit=_memory_limit())
    frames = {
        "track_analytics": lambda: (GOLD_TRACK_ANALYTICS, [build_track_analytics(con, BUILT).sort_values("track_id")]),
        "playlist_analytics": lambda: (GOLD_PLAYLIST_ANALYTICS, [build_playlist_analytics(con, BUILT)]),
        "next_tracks": lambda: (GOLD_NEXT_TRACKS, iter_next_tracks(con, BUILT)),
        "artists": lambda: (GOLD_ARTISTS, [art.build_artists(con, BUILT)]),
        "artist_analytics": lambda: (GOLD_ARTIST_ANALYTICS, [art.build_artist_analytics(con, BUILT, lake.read(GOLD_ARTISTS))]),
        "artist_collaborations": lambda: (GOLD_ARTIST_COLLABORATIONS,
                                          [art.build_artist_collaborations(con, BUILT, lake.read(GOLD_ARTISTS))]),
    }
    spec, batches = frames[which]()
    rows = 0

    def counted():
        nonlocal rows
        for b in batches:
            rows += len(b)
            yield b

    lake.write_single(spec, counted())
    print(json.dumps({"builder": which, "rows": rows, "seconds": round(time.perf_counter() - t0, 2),
                      "peak_rss_mb": peak_rss_mb()}))


def child_query(root: str, n: int) -> None:
    import random
    import statistics

    from songnodes_assets.lib.analytics import query
    from songnodes_assets.lib.catalog import connect

    t0 = time.perf_counter()
    con = connect(root)
    open_s = time.perf_counter() - t0
    ids = [r[0] for r in con.execute("SELECT DISTINCT from_track_id FROM gold.next_tracks").fetchall()]
    rnd = random.Random(11)
    sample = rnd.sample(ids, min(n, len(ids)))
    names = dict(con.execute("SELECT track_id, track_name FROM gold.track_analytics WHERE track_id IN "
                             "(SELECT unnest($i::VARCHAR[]))", {"i": sample}).fetchall())
    res_ms, next_ms, fuzzy_ms, found = [], [], [], 0
    for track_id in sample:
        t = time.perf_counter()
        r = query.resolve_track(con, names[track_id])
        res_ms.append((time.perf_counter() - t) * 1000)
        found += r.track_id == track_id
        t = time.perf_counter()
        rows = query.next_tracks(con, track_id, limit=10)
        next_ms.append((time.perf_counter() - t) * 1000)
        assert rows and rows[0]["rank"] == 1
    for track_id in sample[:10]:  # a typo: the fuzzy jaro-winkler scan over every track name
        t = time.perf_counter()
        query.resolve_track(con, names[track_id].replace("Track", "Trak"))
        fuzzy_ms.append((time.perf_counter() - t) * 1000)

    def stats(xs):
        xs = sorted(xs)
        return {"median_ms": round(statistics.median(xs), 1), "p95_ms": round(xs[int(0.95 * (len(xs) - 1))], 1)}

    print(json.dumps({"queries": len(sample), "connect_s": round(open_s, 2), "resolved_exactly": found,
                      "resolve_track": stats(res_ms), "next_tracks": stats(next_ms),
                      "resolve_track_fuzzy_10": stats(fuzzy_ms),
                      "peak_rss_mb": peak_rss_mb()}))


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"child {args} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transitions", type=int, default=20_000)
    ap.add_argument("--tracks", type=int, default=5_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--keep", help="generate into this directory and keep it")
    ap.add_argument("--child-build", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child-query", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_build:
        child_build(*args.child_build)
        return 0
    if args.child_query:
        child_query(args.child_query[0], int(args.child_query[1]))
        return 0
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-analytics-"))
    t0 = time.perf_counter()
    sizes = generate(root, args.transitions, args.tracks)
    print(json.dumps({"generated": sizes, "seconds": round(time.perf_counter() - t0, 1), "root": str(root)}),
          flush=True)
    for which in ("track_analytics", "playlist_analytics", "next_tracks", "artists", "artist_analytics",
                  "artist_collaborations"):
        print(json.dumps(run_child(["--child-build", str(root), which])), flush=True)
    print(json.dumps(run_child(["--child-query", str(root), str(args.queries)])), flush=True)
    if not args.keep:
        import shutil
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
