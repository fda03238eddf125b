"""The shared limiter spaces sends, not only reserved slots: across processes, the moments callers are let
through are at least the interval apart, even when one caller is late for its slot."""

import multiprocessing as mp
import time

from songnodes_assets.lib.enrich.ratelimit import SharedRateLimiter


def _work(path, interval, n, late, q):
    lim = SharedRateLimiter(path, "musicbrainz", interval)
    out = []
    for i in range(n):
        slot = lim.reserve() if late and i == 0 else None
        if slot is not None:  # this caller takes a slot and then sends 1.5 intervals late
            time.sleep(max(0.0, slot - time.time()) + 1.5 * interval)
            continue
        lim.acquire()
        out.append(time.time())
    q.put(out)


def test_sends_are_spaced_across_processes(tmp_path):
    interval = 0.2
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(tmp_path / "rl.sqlite", interval, 5, i == 0, q)) for i in range(3)]
    for p in procs:
        p.start()
    times = sorted(t for _ in procs for t in q.get(timeout=60))
    for p in procs:
        p.join(30)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 14 and min(gaps) >= interval, gaps
    assert sum(1 for t in times if times[0] <= t < times[0] + 1.0) <= 1.0 / interval  # a strict 1 s window
