"""Benchmark (not a test): enrichment of N unique tracks against the rate-limited fake APIs.

    python scripts/bench_enrich.py --tracks 200 --speedup 20

For each source, the documented quota is applied as the limiter interval divided by --speedup (so the
run takes minutes, not hours; the ratio wall/floor is what matters). Reports per source: API calls per
unique track, wall time, the floor (calls x interval: what the quota allows at best) and wall/floor;
then the same with a warm cache (expected: zero calls).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from songnodes_assets.lib.enrich.api_client import ApiClient, RetryPolicy  # noqa: E402
from songnodes_assets.lib.enrich.cache import ResponseCache  # noqa: E402
from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter  # noqa: E402
from songnodes_assets.lib.enrich.runner import enrich  # noqa: E402
from songnodes_assets.lib.enrich.sources import SOURCES  # noqa: E402
from songnodes_assets.lib.enrich.sources.base import SourceConfig  # noqa: E402
from songnodes_assets.lib.ids import make_track_id  # noqa: E402
from songnodes_assets.lib.matching import TrackQuery  # noqa: E402
from songnodes_assets.sample_site.fake_apis import DEMO_CREDENTIALS, CatalogTrack, FakeApis  # noqa: E402

WORDS = ["Night", "Acid", "Dream", "Signal", "Body", "Machine", "Echo", "Rain", "Groove", "Pulse", "Orbit", "Light"]


def tracks(n: int, seed: int = 3) -> list[CatalogTrack]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        artists = [f"Artist {rng.randint(1, n // 2 + 1)}"]
        title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        remixers = [f"Remixer {i}"] if rng.random() < 0.2 else []
        out.append(CatalogTrack(make_track_id(artists, title, remixers), artists, title, remixers, "Label", ["Techno"]))
    return out


def run(apis: FakeApis, catalog: list[CatalogTrack], state: Path, speedup: float) -> list[dict]:
    queries = [TrackQuery(t.track_id, t.artists, t.title, t.remixers) for t in catalog]
    creds = {k: v for k, v in DEMO_CREDENTIALS.items()}
    results = []
    mbids: dict[str, str] = {}
    for name, cls in SOURCES.items():
        interval = cls.default_interval_s / speedup
        cfg = SourceConfig(name=name, base_url=apis.base_url_for(name), enabled=True, min_interval_s=interval,
                           credentials={k: creds[k] for k in cls.credential_env}, missing_credentials=[],
                           options={"auth_url": apis.base_url_for("spotify") + "/api/token"})
        client = ApiClient(name, cfg.base_url, limiter=SharedRateLimiter(state / "rl.sqlite", name, interval),
                           cache=ResponseCache(state / "cache.sqlite"), user_agent="SongNodesBench/1",
                           policy=RetryPolicy(), secrets=cfg.secrets)
        t0 = time.perf_counter()
        rows, summary = enrich(queries, cls(cfg), client, scrape_date="2024-05-01", context={"mbids": mbids})
        wall = time.perf_counter() - t0
        if name == "musicbrainz":
            mbids = {r["track_id"]: r["source_id"] for r in rows if r["status"] == "matched"}
        calls = client.stats["calls"] + client.stats["auth_calls"]
        floor = calls * interval
        results.append({"source": name, "tracks": len(queries), "interval_s": round(interval, 4), "api_calls": calls,
                        "calls_per_track": round(calls / len(queries), 3), "cache_hits": client.stats["cache_hits"],
                        "matched": summary.matched, "not_found": summary.not_found, "failed": summary.failed,
                        "skipped": summary.skipped, "wall_s": round(wall, 2), "floor_s": round(floor, 2),
                        "wall_over_floor": round(wall / floor, 3) if floor else None})
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--speedup", type=float, default=20.0, help="divide every documented interval by this")
    args = ap.parse_args()
    catalog = tracks(args.tracks)
    with FakeApis(catalog=catalog) as apis, tempfile.TemporaryDirectory() as tmp:
        print("cold cache:")
        for r in run(apis, catalog, Path(tmp), args.speedup):
            print(json.dumps(r))
        print("warm cache (same tracks again):")
        for r in run(apis, catalog, Path(tmp), args.speedup):
            print(json.dumps({k: r[k] for k in ("source", "api_calls", "cache_hits", "wall_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
