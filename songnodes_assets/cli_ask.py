"""`songnodes next` and `songnodes path`: ask the gold analytics about a track by name (README: Asking the data)."""

from __future__ import annotations

import argparse
import math
import sys


class AskError(ValueError):
    """A clear answer that is not a result (unknown or ambiguous track, bad option): exit 2."""


def _open(root_flag: str | None, command: str):
    from .cli import open_lakehouse
    from .lib.catalog import connect

    return connect(open_lakehouse(root_flag, command))


def _resolve(con, text: str):
    from .lib.analytics.query import resolve_track

    res = resolve_track(con, text)
    if res.status == "match":
        return res
    lines = [res.message]
    if res.status == "ambiguous":
        lines += [f"  {c['track_name']}  ({c['track_id']})" for c in res.candidates]
        lines.append("say which: give more of the name, or the track id")
    raise AskError("\n".join(lines))


def cmd_next(args: argparse.Namespace, out=print) -> int:
    from .lib.analytics.query import next_tracks

    if args.limit < 1:
        raise AskError(f"--limit {args.limit}: give 1 or more")
    if args.bpm_range is not None and not (math.isfinite(args.bpm_range) and args.bpm_range >= 0):
        raise AskError(f"--bpm-range {args.bpm_range}: give a BPM tolerance of 0 or more, e.g. 3")
    con = _open(args.root, "next")
    track = _resolve(con, args.track)
    within, bpm = args.bpm_range, None
    if within is not None:
        bpm = con.execute("SELECT max(bpm) FROM gold.enriched_tracks WHERE track_id = ?", [track.track_id]).fetchone()[0]
        if bpm is None:
            print(f"songnodes next: {track.track_name} has no known BPM; --bpm-range is not applied", file=sys.stderr)
            within = None
    rows = next_tracks(con, track.track_id, limit=args.limit, bpm_within=within)
    out(f"after {track.track_name}" + (f" (BPM {bpm:g} ± {within:g}, half/double time included)"
                                       if within is not None else "") + ":")
    if not rows:
        out("  nothing in that BPM range" if within is not None else "  nothing: no DJ played anything after it yet")
    for i, r in enumerate(rows, start=1):  # numbered as shown (a BPM filter leaves gaps in the stored ranks)
        name = r.get("to_track_name") or r["to_track_id"]
        out(f"{i:>3}. {name}  [{r['tier']}, score {r['score']:.2f}]\n       {r['reason']}")
    return 0


def cmd_path(args: argparse.Namespace, out=print) -> int:
    from .lib.analytics.query import find_path

    from .lib.analytics.query import PathSearchCutOff

    if args.steps < 1:
        raise AskError(f"--steps {args.steps}: give 1 or more")
    con = _open(args.root, "path")
    a, b = _resolve(con, args.start), _resolve(con, args.end)
    try:
        path = find_path(con, a.track_id, b.track_id, max_steps=args.steps)
    except PathSearchCutOff as exc:
        raise AskError(f"from {a.track_name} to {b.track_name}: {exc}") from None
    if path is None:
        raise AskError(f"no played path of at most {args.steps} transitions from {a.track_name} to {b.track_name}")
    out(f"{path.steps} transition(s):")
    for i, name in enumerate(path.track_names):
        weight = f"   (played after the previous in {path.weights[i - 1]} playlist(s))" if i else ""
        out(f"  {i}. {name}{weight}")
    return 0


def add_parsers(sub) -> None:
    n = sub.add_parser("next", help='what DJs play after a track: songnodes next "Artist - Title"')
    n.add_argument("track", help='"Artist - Title (X Remix)" as in a tracklist, part of a name, or a track id')
    n.add_argument("--bpm-range", type=float, metavar="N", help="only tracks within ±N BPM of this one")
    n.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    n.add_argument("--lakehouse", dest="root", metavar="PATH", help="lakehouse root (as for songnodes sql)")
    n.set_defaults(func=cmd_next)
    p = sub.add_parser("path", help='a playable path of real transitions: songnodes path "A - T" "B - T"')
    p.add_argument("start")
    p.add_argument("end")
    p.add_argument("--steps", type=int, default=6, help="at most this many transitions (default 6)")
    p.add_argument("--lakehouse", dest="root", metavar="PATH", help="lakehouse root (as for songnodes sql)")
    p.set_defaults(func=cmd_path)
