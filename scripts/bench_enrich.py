"""Benchmark (not a test): enrichment of N unique tracks against the rate-limited fake APIs, with latency
and faults injected.

    python scripts/bench_enrich.py --tracks 100 --speedup 20

The fake APIs answer after a seeded random latency (default 50-150 ms) and, on a seeded share of requests
(default 5 %), with a 503 or a 429 carrying ``Retry-After: 1`` instead of the answer, so retries, backoff
and the limiter's push-back are in the wall time.

--speedup S divides every source's documented quota interval by S (so the run takes minutes, not hours).
Nothing else is divided: the injected latency, Retry-After (whole seconds in HTTP) and the client's
backoff stay real, so the higher S, the more they weigh against the quota floor. S = 1 is the real quota.

The floor per source is what the documented quota allows at best, whatever the client does:
    N = unique tracks x minimum calls one track needs (+ fixed calls, e.g. Spotify's one token request)
    floor = (N - 1) x interval + one request's minimum latency
(N requests at interval I need (N - 1) x I between the first and the last send.) Minimum calls per track:
1 for the search sources (one search per track is needed, one suffices when the first artist query
matches; a track of the bench has one credited artist); for AcousticBrainz 1/25 per track that has a
MusicBrainz id (its bulk endpoint takes up to 25 MBIDs; tracks without an MBID cannot be asked), so its
floor shows what batching would save, since the adapter asks one MBID per request. Spotify's quota is not
published (a rolling 30 s window): the project's 0.2 s spacing is used as its interval.

Reports per source: unique tracks, calls made, calls per unique track, wall, floor, wall/floor, retries,
faults injected, failures left; then the same with a warm cache (expected: zero calls).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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
from songnodes_assets.sample_site.fake_apis import SOURCES as FAKE_SOURCES  # noqa: E402
from songnodes_assets.sample_site.fake_apis import DEMO_CREDENTIALS, CatalogTrack, FakeApis  # noqa: E402

WORDS = ["Night", "Acid", "Dream", "Signal", "Body", "Machine", "Echo", "Rain", "Groove", "Pulse", "Orbit", "Light"]
BULK_MBIDS = 25  # AcousticBrainz bulk endpoint: at most 25 recording ids per request (API_FACTS.md)
FIXED_CALLS = {"spotify": 1}  # one client-credentials token request per run (the token lasts an hour)


def tracks(n: int, seed: int = 3) -> list[CatalogTrack]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        artists = [f"Artist {rng.randint(1, n // 2 + 1)}"]
        title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        remixers = [f"Remixer {i}"] if rng.random() < 0.2 else []
        out.append(CatalogTrack(make_track_id(artists, title, remixers), artists, title, remixers, "Label", ["Techno"]))
    return out


@dataclass
class SlowFlakyApis(FakeApis):
    """The fake APIs, each answer delayed by a seeded latency and a seeded share replaced by 503/429 + Retry-After.
    One random stream per source: the client asks one source at a time, so the sequence is reproducible."""

    latency_s: tuple[float, float] = (0.05, 0.15)
    fault_rate: float = 0.05
    retry_after: int = 1
    seed: int = 7
    injected: dict[str, dict[str, float]] = field(default_factory=dict)
    _rngs: dict[str, random.Random] = field(default_factory=dict)

    def __post_init__(self):
        for i, s in enumerate(FAKE_SOURCES):
            self._rngs[s] = random.Random(self.seed * 1000 + i)
            self.injected[s] = {"requests": 0, "faults": 0, "latency_s": 0.0}

    def _handle(self, h, method):
        source = urlsplit(h.path).path.strip("/").split("/", 1)[0]
        rng = self._rngs.get(source)
        if rng is None:
            return super()._handle(h, method)
        with self._lock:
            delay = rng.uniform(*self.latency_s)
            fault = rng.random() < self.fault_rate
            status = rng.choice((503, 429))
            stats = self.injected[source]
            stats["requests"] += 1
            stats["latency_s"] += delay
            stats["faults"] += fault
        time.sleep(delay)
        if not fault:
            return super()._handle(h, method)
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        self.log[source].append((time.monotonic(), h.path))
        return self._send(h, status, {"error": {"status": status, "message": "injected by bench_enrich"}},
                          {"Retry-After": str(self.retry_after)})


def floor_of(source: str, unique: int, with_mbid: int, interval: float, min_latency: float) -> tuple[float, float, float]:
    """(minimum calls per unique track, minimum requests N, floor seconds) for one source."""
    if source == "acousticbrainz":
        n = math.ceil(with_mbid / BULK_MBIDS)
        per_track = (n / unique) if unique else 0.0
    else:
        per_track = 1.0
        n = unique + FIXED_CALLS.get(source, 0) if unique else 0
    floor = ((n - 1) * interval + min_latency) if n else 0.0
    return per_track, n, floor


def run(apis: SlowFlakyApis, catalog: list[CatalogTrack], state: Path, speedup: float) -> list[dict]:
    queries = [TrackQuery(t.track_id, t.artists, t.title, t.remixers) for t in catalog]
    unique = len({q.track_id for q in queries})
    creds = dict(DEMO_CREDENTIALS)
    results = []
    mbids: dict[str, str] = {}
    for name, cls in SOURCES.items():
        interval = cls.default_interval_s / speedup
        cfg = SourceConfig(name=name, base_url=apis.base_url_for(name), enabled=True, min_interval_s=interval,
                           credentials={k: creds[k] for k in cls.credential_env}, missing_credentials=[],
                           options={"auth_url": apis.base_url_for("spotify") + "/api/token"})
        client = ApiClient(name, cfg.base_url, limiter=SharedRateLimiter(state / "rl.sqlite", name, interval),
                           cache=ResponseCache(state / "cache.sqlite"), user_agent="SongNodesBench/1",
                           policy=RetryPolicy(), secrets=cfg.secrets, rng=random.Random(11))
        before = dict(apis.injected[name])
        t0 = time.perf_counter()
        rows, summary = enrich(queries, cls(cfg), client, scrape_date="2024-05-01", context={"mbids": mbids})
        wall = time.perf_counter() - t0
        with_mbid = len({q.track_id for q in queries if q.track_id in mbids})
        if name == "musicbrainz":
            mbids = {r["track_id"]: r["source_id"] for r in rows if r["status"] == "matched"}
        calls = client.stats["calls"]  # every send: searches, token requests, retries
        per_track, n_min, floor = floor_of(name, unique, with_mbid if name == "acousticbrainz" else unique,
                                           interval, apis.latency_s[0])
        after = apis.injected[name]
        results.append({
            "source": name, "interval_s": round(interval, 4), "unique_tracks": unique,
            "min_calls_per_track": round(per_track, 4), "min_requests": n_min, "api_calls": calls,
            "calls_per_unique_track": round(calls / unique, 3) if unique else None,
            "cache_hits": client.stats["cache_hits"], "wall_s": round(wall, 2), "floor_s": round(floor, 2),
            "wall_over_floor": round(wall / floor, 2) if floor else None, "retries": client.stats["retries"],
            "faults_injected": int(after["faults"] - before["faults"]),
            "latency_served_s": round(after["latency_s"] - before["latency_s"], 2),
            "limiter_waited_s": round(client.limiter.waited_s, 2),
            "matched": summary.matched, "not_found": summary.not_found, "skipped": summary.skipped,
            "failures_left": summary.failed})
    return results


def table(results: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in results)) for c in cols}
    lines = ["  ".join(c.rjust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).rjust(widths[c]) for c in cols) for r in results]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--speedup", type=float, default=20.0,
                    help="divide every documented quota interval by this (latency, Retry-After, backoff are not)")
    ap.add_argument("--latency-ms", default="50-150", help="injected latency range per request, ms (seeded)")
    ap.add_argument("--fault-rate", type=float, default=0.05, help="share of requests answered 503/429 + Retry-After")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="one JSON object per source instead of a table")
    args = ap.parse_args()
    lo, _, hi = args.latency_ms.partition("-")
    latency = (float(lo) / 1000, float(hi or lo) / 1000)
    catalog = tracks(args.tracks)
    print(f"{args.tracks} unique tracks; quota intervals divided by --speedup {args.speedup:g} "
          f"(speedup 1 = the documented quotas); injected latency {latency[0] * 1000:g}-{latency[1] * 1000:g} ms "
          f"and {args.fault_rate:.0%} faults (503/429, Retry-After: 1 s), seed {args.seed}, not sped up")
    print("floor = (N - 1) x interval + min latency, N = unique tracks x min calls per track (+1 Spotify token); "
          "AcousticBrainz: ceil(tracks with an MBID / 25)")
    cols = ["source", "interval_s", "unique_tracks", "min_calls_per_track", "api_calls", "calls_per_unique_track",
            "wall_s", "floor_s", "wall_over_floor", "retries", "faults_injected", "failures_left"]
    with SlowFlakyApis(catalog=catalog, latency_s=latency, fault_rate=args.fault_rate, seed=args.seed) as apis, \
            tempfile.TemporaryDirectory() as tmp:
        cold = run(apis, catalog, Path(tmp), args.speedup)
        print("cold cache:")
        print("\n".join(json.dumps(r) for r in cold) if args.json else table(cold, cols))
        total_wall, total_floor = sum(r["wall_s"] for r in cold), sum(r["floor_s"] for r in cold)
        print(f"total: wall {total_wall:.1f} s, floor {total_floor:.1f} s, wall/floor {total_wall / total_floor:.2f}; "
              f"latency served {sum(r['latency_served_s'] for r in cold):.1f} s")
        warm = run(apis, catalog, Path(tmp), args.speedup)
        print("warm cache (same tracks again; expected 0 calls):")
        print("\n".join(json.dumps({k: r[k] for k in ("source", "api_calls", "cache_hits", "wall_s", "failures_left")})
                        for r in warm) if args.json else
              table(warm, ["source", "api_calls", "cache_hits", "wall_s", "retries", "failures_left"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
