"""Read-side queries of the CLI: find a track from what a user types, what to play after it, a path between two.

* ``resolve_track(con, text)``: a track id as typed ("t…" and known) or the id the project's own line parser
  gives "Artist - Title (X Remix)" (``parse_credit`` → ``make_track_id``, exactly how silver builds ids) is an
  exact hit. Otherwise a fuzzy lookup: DuckDB ``jaro_winkler_similarity`` of the lower-cased text against each
  track's display name and its title (the better of the two). One candidate at >= ``MATCH`` clearly ahead of the
  next (by ``MARGIN``) is a match; several at >= ``CANDIDATE`` are "ambiguous" (the candidates are listed);
  otherwise "unknown" with the ``SUGGESTIONS`` closest names.
* ``next_tracks(con, track_id, bpm_range=None, limit=10)``: rows of ``gold.next_tracks`` for the track (read
  from the built table when the catalog has a ``gold.next_tracks`` view, else computed now for that one track
  with the same SQL), optionally only those whose ``to_bpm`` lies in ``bpm_range`` (lo, hi inclusive; a track
  of unknown BPM is then left out), with the next track's display name.
* ``find_path(con, from_id, to_id, max_steps=6)``: a shortest path over real transitions (``silver.transitions``,
  direction A → B as played), by bidirectional BFS: one SQL query per level over the current frontier, the
  smaller side expanded first, at most ``max_steps`` edges and ``MAX_FRONTIER`` tracks per side (bounded on a
  huge graph). Returns ``None`` when no path of at most ``max_steps`` exists (or the frontier cap is hit).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

import duckdb

from ..parsing.line import parse_credit
from .recommend import live_next_tracks

MATCH = 0.93
MARGIN = 0.02
CANDIDATE = 0.85
SUGGESTIONS = 5
MAX_CANDIDATES = 10
MAX_FRONTIER = 20_000
_TRACK_ID_RE = re.compile(r"^t[0-9a-f]{20}$")


@dataclass
class Resolution:
    status: str  # match | ambiguous | unknown
    query: str
    track_id: str | None = None
    track_name: str | None = None
    how: str | None = None  # track_id | parsed | fuzzy
    candidates: list[dict] = field(default_factory=list)  # {track_id, track_name, similarity}

    @property
    def message(self) -> str:
        if self.status == "match":
            return f"{self.track_name} ({self.track_id})"
        names = "; ".join(c["track_name"] for c in self.candidates)
        if self.status == "ambiguous":
            return f"{self.query!r} matches several tracks: {names}"
        return f"no track matches {self.query!r}" + (f"; closest: {names}" if names else "")


class PathSearchCutOff(RuntimeError):
    """The bidirectional search hit its frontier bound before finding a path (which may still exist)."""


@dataclass
class TrackPath:
    track_ids: list[str]
    track_names: list[str]
    weights: list[int]  # weight of each edge (len = steps)

    @property
    def steps(self) -> int:
        return len(self.track_ids) - 1


def _has_relation(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                       [schema, name]).fetchone()[0] > 0 or \
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                    [schema, name]).fetchone()[0] > 0


def _built(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """The relation exists and holds rows (a view over a table not built yet is empty, not an answer)."""
    return _has_relation(con, qualified) and \
        con.execute(f"SELECT count(*) > 0 FROM (SELECT 1 FROM {qualified} LIMIT 1)").fetchone()[0]


def _names_source(con: duckdb.DuckDBPyConnection) -> str:
    """The built gold.track_analytics (one row per track, small) when the catalog has it, else the silver view."""
    if _built(con, "gold.track_analytics"):
        return "gold.track_analytics"
    return "silver.tracks_named"


def _name_of(con, source: str, track_id: str) -> str | None:
    """The track's display name from ``source``, else from silver (the analytics are rebuilt once per window, so
    a track silver already has may not be in them yet)."""
    for src in dict.fromkeys((source, "silver.tracks_named")):
        row = con.execute(f"SELECT track_name FROM {src} WHERE track_id = ? LIMIT 1", [track_id]).fetchone()
        if row:
            return row[0]
    return None


def _fold_accents(text: str) -> str:
    """What DuckDB's strip_accents does to the names: "tiësto" -> "tiesto"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def resolve_track(con: duckdb.DuckDBPyConnection, text: str) -> Resolution:
    query = (text or "").strip()
    source = _names_source(con)
    if not query:
        return Resolution("unknown", query)
    exact: list[tuple[str, str]] = []
    if _TRACK_ID_RE.match(query):
        exact.append((query, "track_id"))
    credit = parse_credit(query)
    if credit.track_id:
        exact.append((credit.track_id, "parsed"))
    for track_id, how in exact:
        name = _name_of(con, source, track_id)
        if name is not None:
            return Resolution("match", query, track_id, name, how)
    rows = con.execute(f"""
        SELECT track_id, track_name,
               greatest(jaro_winkler_similarity(strip_accents(lower(track_name)), $q),
                        jaro_winkler_similarity(strip_accents(lower(coalesce(title, ''))), $q)) AS sim
        FROM {source} ORDER BY sim DESC, track_name, track_id LIMIT {MAX_CANDIDATES}
    """, {"q": _fold_accents(query.lower())}).fetchall()
    cands = [{"track_id": r[0], "track_name": r[1], "similarity": round(float(r[2]), 4)} for r in rows]
    if cands and cands[0]["similarity"] >= MATCH and (
            len(cands) == 1 or cands[1]["similarity"] < cands[0]["similarity"] - MARGIN):
        return Resolution("match", query, cands[0]["track_id"], cands[0]["track_name"], "fuzzy", cands[:1])
    close = [c for c in cands if c["similarity"] >= CANDIDATE]
    if len(close) >= 2:
        return Resolution("ambiguous", query, candidates=close)
    return Resolution("unknown", query, candidates=cands[:SUGGESTIONS])


def next_tracks(con: duckdb.DuckDBPyConnection, track_id: str, bpm_range: tuple[float, float] | None = None,
                limit: int = 10, today: dt.date | None = None, bpm_within: float | None = None) -> list[dict]:
    """Ranked next tracks of ``track_id`` (dicts of the gold.next_tracks columns + ``to_track_name``).
    ``bpm_within`` N keeps tracks whose tempo is within ±N BPM of this one, half/double time counting as the
    same tempo (``bpm_delta``); ``bpm_range`` (lo, hi) filters the next track's BPM as stored."""
    if limit < 1:
        raise ValueError(f"limit {limit}: give 1 or more")
    where, params = "", {"id": track_id}
    if bpm_range is not None:
        where = "AND to_bpm BETWEEN $lo AND $hi"
        params.update(lo=float(min(bpm_range)), hi=float(max(bpm_range)))
    if bpm_within is not None:
        where += " AND abs(bpm_delta) <= $within"
        params["within"] = float(bpm_within)
    if _built(con, "gold.next_tracks"):
        sql = (f"SELECT * EXCLUDE (built_at) FROM gold.next_tracks WHERE from_track_id = $id {where} "
               f"ORDER BY rank LIMIT {int(limit)}")
        rows = con.execute(sql, params).df()
    else:
        rows = live_next_tracks(con, [track_id], today or dt.datetime.now(dt.timezone.utc).date())
        if bpm_range is not None:
            rows = rows[rows["to_bpm"].notna() & rows["to_bpm"].between(params["lo"], params["hi"])]
        if bpm_within is not None:
            rows = rows[rows["bpm_delta"].notna() & (rows["bpm_delta"].abs() <= params["within"])]
        rows = rows.sort_values("rank").head(int(limit))
    out = rows.astype(object).where(rows.notna(), None).to_dict("records")
    source = _names_source(con)
    ids = [r["to_track_id"] for r in out]
    names = dict(con.execute(f"SELECT track_id, track_name FROM {source} WHERE track_id IN "
                             f"(SELECT unnest($ids::VARCHAR[]))", {"ids": ids}).fetchall()) if ids else {}
    for r in out:
        r["to_track_name"] = names.get(r["to_track_id"])
    return out


def _expand(con, frontier: list[str], forward: bool) -> list[tuple[str, str, int]]:
    """(from, to, weight) edges leaving (forward) or entering the frontier."""
    key = "from_track_id" if forward else "to_track_id"
    return con.execute(f"SELECT from_track_id, to_track_id, weight FROM silver.transitions "
                       f"WHERE {key} IN (SELECT unnest($ids::VARCHAR[])) AND from_track_id <> to_track_id",
                       {"ids": frontier}).fetchall()


def find_path(con: duckdb.DuckDBPyConnection, from_id: str, to_id: str, max_steps: int = 6) -> TrackPath | None:
    """A shortest played path from ``from_id`` to ``to_id`` (ties: the first found), or None when there is none
    of at most ``max_steps``; raises ``PathSearchCutOff`` when the frontier bound stopped the search first."""
    if max_steps < 1:
        raise ValueError(f"steps {max_steps}: give 1 or more")
    if from_id == to_id:
        return TrackPath([from_id], [_name_of(con, "silver.tracks_named", from_id) or from_id], [])
    # parents: track -> (the neighbour one step closer to that side's start, edge weight, depth)
    parent_f: dict[str, tuple[str | None, int, int]] = {from_id: (None, 0, 0)}
    parent_b: dict[str, tuple[str | None, int, int]] = {to_id: (None, 0, 0)}
    front_f, front_b = [from_id], [to_id]
    meet = None
    for _ in range(max_steps):
        forward = len(front_f) <= len(front_b)
        frontier, parents, other = (front_f, parent_f, parent_b) if forward else (front_b, parent_b, parent_f)
        nxt: list[str] = []
        meets: list[tuple[int, str]] = []
        for a, b, w in sorted(_expand(con, frontier, forward)):
            src, dst = (a, b) if forward else (b, a)
            if dst in parents:
                continue
            parents[dst] = (src, int(w), parents[src][2] + 1)
            nxt.append(dst)
            if dst in other:
                meets.append((parents[dst][2] + other[dst][2], dst))
        if meets:  # the whole level is expanded first, so the shortest of its meeting points wins
            meet = min(meets)[1]
            break
        if len(nxt) > MAX_FRONTIER:
            raise PathSearchCutOff(f"the search was cut off at {MAX_FRONTIER} tracks on one side after "
                                   f"{parents[nxt[0]][2]} step(s): no path is known within that, a longer one may exist")
        if not nxt:
            break
        if forward:
            front_f = nxt
        else:
            front_b = nxt
    if meet is None:
        return None
    ids, weights = [meet], []
    node = meet
    while parent_f[node][0] is not None:
        prev, w, _ = parent_f[node]
        ids.insert(0, prev)
        weights.insert(0, w)
        node = prev
    node = meet
    while parent_b[node][0] is not None:
        nxt_node, w, _ = parent_b[node]
        ids.append(nxt_node)
        weights.append(w)
        node = nxt_node
    if len(ids) - 1 > max_steps:
        return None
    names = dict(con.execute("SELECT track_id, track_name FROM silver.tracks_named WHERE track_id IN "
                             "(SELECT unnest($ids::VARCHAR[]))", {"ids": ids}).fetchall())
    return TrackPath(ids, [names.get(i, i) for i in ids], weights)
