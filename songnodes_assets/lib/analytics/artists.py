"""Canonical artists: gold.artists, gold.artist_analytics and gold.artist_collaborations.

Credits. Every credited name of a track, with its role: ``primary`` (the ``artists`` list), ``featured``
and ``remixer``, read from ``silver.playlist_tracks`` (each entry keeps the spelling its tracklist used) and
``silver.tracks`` (the attributes of a track's first sighting). A spelling's weight is the number of
playlist entries that used it.

Fold key (``artist_key``): "+" is read as "and", then ``parsing.text.fold`` (the fold the track id uses:
NFKC, accents folded, case folded, "&" -> "and", punctuation dropped, "-", "_", "/" as spaces, whitespace
collapsed), then a leading "the " is dropped ("The Prodigy" = "Prodigy"; "The The" stays "the"), and so is
a trailing ", The" (Discogs' "Persuader, The"). A name of
punctuation only ("!!!") keys as its NFKC case-folded text, so it is never lost.

Merging. Credits with the same fold key are one artist unless the sources say otherwise (below).
``variants`` are the distinct spellings, most used first (entries, then tracks, then the spelling's text):
``name`` is the first of them. ``roles`` lists the roles it appears in (primary, featured, remixer order).
``merge_rules`` names the rules a variant needs to equal ``name``: ``case``, ``accents``, ``and_ampersand``
(&, +, and), ``punctuation`` (punctuation and whitespace), ``the_prefix``; a rule is named when all the other
rules together still leave the two spellings different; ``fold`` when only the full fold makes them agree.

External ids. Each source's newest row per track (by ``fetched_at``), when matched, lists the record's
credited artists with the source's artist id (``artist_names``/``artist_ids``). An id is attached to a
credit of that track when the source's artist name has the same fold key; "" ids carry no evidence.
Sources: musicbrainz, spotify, discogs (lastfm, getsongbpm, acousticbrainz give no artist ids).

Never a silent merge. When one source gives two or more DIFFERENT artist ids for credits whose names fold
to the same key, these are different real artists: the key is split. The anchor is the first source in the
order musicbrainz, spotify, discogs that gives two ids; each of its ids is one artist. A track's credit goes
to the anchor id its source gave; a track with only another source's id goes where that id is mostly seen
with an anchor id; a track with no id evidence goes to the largest group (most tracks; ties: smallest id),
and the evidence says how many were attached that way.

Ids. ``artist_id`` = "a" + blake2b("1|" + fold key) (10 bytes, hex), and for a split artist the hash of
"1|key|source:external_id": stable across rebuilds and independent of row order.

Analytics (per artist, over the credit map, i.e. each distinct track the artist is credited on):
``tracks``; ``plays`` = playlist entries of those tracks; ``playlists``; ``djs`` = distinct lower(dj) of those
playlists; ``collaborators`` = distinct artists co-credited on a track; ``labels`` = up to 10 labels of their
tracks (the enriched label, else the tracklist's), by tracks desc then name; ``first_active_year`` /
``last_active_year`` = min / max of the release years (gold.enriched_tracks) and play years (mix date, else
scrape date) of their tracks. Collaborations: pairs ``artist_id_a < artist_id_b`` credited (any role) on the
same track; ``tracks`` = distinct such tracks, ``plays`` = entries of those tracks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import unicodedata
import uuid
from collections import Counter, defaultdict

import duckdb
import pandas as pd

from ..parsing.text import _FOLD_TABLE, fold
from ..schemas import GOLD_ARTIST_ANALYTICS, GOLD_ARTIST_COLLABORATIONS, GOLD_ARTISTS
from .tracks import as_utc

ARTIST_ID_VERSION = "1"
ID_SOURCES = ("musicbrainz", "spotify", "discogs")  # also the anchor order of a split
ROLES = ("primary", "featured", "remixer")
_TRAILING_THE_RE = re.compile(r"(?<=\S),\s*the\s*$", re.IGNORECASE)  # Discogs writes "Persuader, The"
MAX_LABELS = 10


# ---- names -------------------------------------------------------------------------------------------------
def artist_key(name: str) -> str:
    """The fold key of a credited name (see the module docstring)."""
    text = _TRAILING_THE_RE.sub("", (name or "").replace("+", " and "))
    key = fold(text)
    if not key:
        return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())
    if key.startswith("the ") and len(key) > 4:
        key = key[4:]
    return key


def make_artist_id(key: str, split: str | None = None) -> str:
    text = f"{ARTIST_ID_VERSION}|{key}" + (f"|{split}" if split else "")
    return "a" + hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def _accents(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.translate(_FOLD_TABLE))
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def _and(s: str) -> str:
    s = s.replace("&", " and ").replace("+", " and ")
    return " ".join(s.split())


def _punct(s: str) -> str:
    s = "".join(ch if (ch.isalnum() or ch.isspace()) else " " if ch in "-_/" else "" for ch in s)
    return " ".join(s.split())


def _the(s: str) -> str:
    s = _TRAILING_THE_RE.sub("", s)
    return s[4:] if s[:4].casefold() == "the " and len(s) > 4 else s


_RULES = (("case", str.casefold), ("accents", _accents), ("and_ampersand", _and), ("the_prefix", _the),
          ("punctuation", _punct))


def _apply(text: str, skip: str | None = None) -> str:
    for rule, fn in _RULES:
        if rule != skip:
            text = fn(text)
    return text


def merge_rules(variant: str, name: str) -> list[str]:
    """The rules that make ``variant`` equal to ``name`` ([] when they are equal): a rule counts when the
    others alone leave the two different; ``fold`` when only the full fold makes them agree."""
    a, b = (" ".join(unicodedata.normalize("NFKC", x).split()) for x in (variant, name))
    if a == b:
        return []
    if _apply(a) != _apply(b):
        return ["fold"]
    used = [rule for rule, _ in _RULES if _apply(a, rule) != _apply(b, rule)]
    if used:
        return used
    # several rules would each do (e.g. "+" vs "&": and_ampersand or punctuation): the first that alone does
    alone = [rule for rule, fn in _RULES if fn(a) == fn(b)]
    return alone[:1] or [rule for rule, fn in _RULES if fn(a) != a or fn(b) != b]


# ---- credits and evidence ----------------------------------------------------------------------------------
_CREDITS_SQL = """
WITH pt AS (SELECT track_id, artists, featured, remixers FROM silver.playlist_tracks WHERE track_id IS NOT NULL),
st AS (SELECT track_id, artists, featured, remixers FROM silver.tracks),
c AS (
    SELECT track_id, 'primary' AS role, unnest(artists) AS name, 1 AS uses FROM pt
    UNION ALL SELECT track_id, 'featured', unnest(featured), 1 FROM pt
    UNION ALL SELECT track_id, 'remixer', unnest(remixers), 1 FROM pt
    UNION ALL SELECT track_id, 'primary', unnest(artists), 0 FROM st
    UNION ALL SELECT track_id, 'featured', unnest(featured), 0 FROM st
    UNION ALL SELECT track_id, 'remixer', unnest(remixers), 0 FROM st
)
SELECT track_id, role, trim(name) AS name, CAST(sum(uses) AS BIGINT) AS uses
FROM c WHERE name IS NOT NULL AND trim(name) <> ''
GROUP BY ALL
"""


def _key_column(names: pd.Series) -> pd.Series:
    uniq = pd.unique(names)
    return names.map(dict(zip(uniq, (artist_key(n) for n in uniq))))


def _credits(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    df = con.execute(_CREDITS_SQL).df()
    df["key"] = _key_column(df["name"]) if len(df) else pd.Series([], dtype=object)
    return df[df["key"] != ""]


def _evidence(con: duckdb.DuckDBPyConnection, credits: pd.DataFrame) -> pd.DataFrame:
    """(track_id, key, source, ext_id): the non-empty artist ids each source's newest matched row of a track
    gives for a name with the same fold key as one of the track's credits."""
    frames = []
    for source in ID_SOURCES:
        cols = set(con.execute(f"SELECT * FROM enrichment.{source} LIMIT 0").df().columns)
        if not {"artist_names", "artist_ids"} <= cols:  # every file predates the columns: no evidence
            continue
        df = con.execute(f"""
            WITH newest AS (
                SELECT track_id, status, artist_names, artist_ids FROM enrichment.{source}
                QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY fetched_at DESC, scrape_date DESC) = 1
            ), pairs AS (
                SELECT track_id, unnest(artist_names) AS ext_name, unnest(artist_ids) AS ext_id FROM newest
                WHERE status = 'matched' AND len(artist_names) = len(artist_ids)
            )
            SELECT DISTINCT track_id, ext_name, trim(ext_id) AS ext_id FROM pairs
            WHERE ext_name IS NOT NULL AND ext_id IS NOT NULL AND trim(ext_id) <> ''
        """).df()
        if len(df):
            df["key"] = _key_column(df["ext_name"])
            df["source"] = source
            frames.append(df[["track_id", "key", "source", "ext_id"]])
    ev = pd.concat(frames, ignore_index=True) if frames else \
        pd.DataFrame({c: pd.Series([], dtype=object) for c in ("track_id", "key", "source", "ext_id")})
    tk = credits[["track_id", "key"]].drop_duplicates()
    return ev.merge(tk, on=["track_id", "key"], how="inner").drop_duplicates()


def _split(key: str, tracks: list[str], ev: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """Assign each track of a conflicting key to an artist id; returns (track -> artist_id, artist_id -> why)."""
    ids = {s: sorted(set(ev.loc[ev["source"] == s, "ext_id"])) for s in ID_SOURCES}
    anchor = next(s for s in ID_SOURCES if len(ids[s]) >= 2)
    per_track: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for t, s, i in zip(ev["track_id"], ev["source"], ev["ext_id"]):
        per_track[t][s].add(i)
    track_anchor = {t: min(d[anchor]) for t, d in per_track.items() if d.get(anchor)}
    mapped: dict[tuple[str, str], str] = {}
    for s in ID_SOURCES:
        if s == anchor:
            continue
        for i in ids[s]:
            seen = Counter(track_anchor[t] for t, d in per_track.items() if i in d.get(s, ()) and t in track_anchor)
            if seen:
                mapped[(s, i)] = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    assigned: dict[str, str] = {}
    by_anchor = 0
    for t in tracks:
        if t in track_anchor:
            assigned[t] = track_anchor[t]
            by_anchor += 1
            continue
        for s in ID_SOURCES:
            hit = sorted(mapped[(s, i)] for i in per_track.get(t, {}).get(s, ()) if (s, i) in mapped)
            if hit:
                assigned[t] = hit[0]
                break
    sizes = Counter(assigned.values())
    largest = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    unknown = [t for t in tracks if t not in assigned]
    for t in unknown:
        assigned[t] = largest
    sizes = Counter(assigned.values())
    why = {}
    for anchor_id in ids[anchor]:
        aid = make_artist_id(key, f"{anchor}:{anchor_id}")
        text = (f"split: {len(ids[anchor])} {anchor} artist ids for names that fold to '{key}' "
                f"({', '.join(ids[anchor])}); this one is {anchor} {anchor_id}, {sizes.get(anchor_id, 0)} track(s)")
        if anchor_id == largest and unknown:
            text += f", {len(unknown)} of them without id evidence (attached to the largest group)"
        why[aid] = text
    return {t: make_artist_id(key, f"{anchor}:{a}") for t, a in assigned.items()}, why


def _resolve(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(credits with artist_id, evidence with artist_id, split explanations by artist_id)."""
    credits = _credits(con)
    ev = _evidence(con, credits)
    tk = credits[["track_id", "key"]].drop_duplicates().reset_index(drop=True)
    ukeys = pd.unique(tk["key"])
    tk["artist_id"] = tk["key"].map(dict(zip(ukeys, (make_artist_id(k) for k in ukeys))))
    why: dict[str, str] = {}
    if len(ev):
        n_ids = ev.groupby(["key", "source"])["ext_id"].nunique()
        conflicts = sorted(set(n_ids[n_ids >= 2].index.get_level_values("key")))
        if conflicts:
            ev_by_key = dict(tuple(ev[ev["key"].isin(conflicts)].groupby("key")))
            tk_conf = tk[tk["key"].isin(conflicts)]
            fixes = []
            for key, group in tk_conf.groupby("key"):
                assigned, w = _split(key, sorted(group["track_id"]), ev_by_key[key])
                why.update(w)
                fixes += [(t, key, a) for t, a in assigned.items()]
            tk = tk.merge(pd.DataFrame(fixes, columns=["track_id", "key", "split_id"]), on=["track_id", "key"],
                          how="left")
            tk["artist_id"] = tk["split_id"].where(tk["split_id"].notna(), tk["artist_id"])
            tk = tk.drop(columns="split_id")
    credits = credits.merge(tk, on=["track_id", "key"], how="left")
    ev = ev.merge(tk, on=["track_id", "key"], how="left")
    return credits, ev, why


# ---- gold.artists ------------------------------------------------------------------------------------------
def _empty(spec) -> pd.DataFrame:
    return spec.conform(pd.DataFrame({c: pd.Series([], dtype=object) for c in spec.column_names}))


def build_artists(con: duckdb.DuckDBPyConnection, built_at: dt.datetime) -> pd.DataFrame:
    """The gold.artists frame (conformed and validated against ``GOLD_ARTISTS``)."""
    credits, ev, why = _resolve(con)
    if credits.empty:
        out = _empty(GOLD_ARTISTS)
        GOLD_ARTISTS.validate(out)
        return out
    v = (credits.groupby(["artist_id", "name"], sort=False)
         .agg(uses=("uses", "sum"), tracks=("track_id", "nunique"), key=("key", "first")).reset_index())
    v = v.sort_values(["artist_id", "uses", "tracks", "name"], ascending=[True, False, False, True], kind="mergesort")
    head = v.drop_duplicates("artist_id")[["artist_id", "name", "key"]].rename(columns={"key": "fold_key"})
    v = v.merge(head[["artist_id", "name"]].rename(columns={"name": "canonical"}), on="artist_id")
    pairs = {(a, b): merge_rules(a, b) for a, b in set(zip(v["name"], v["canonical"]))}
    v["rules"] = [pairs[(a, b)] for a, b in zip(v["name"], v["canonical"])]
    variants = v.groupby("artist_id", sort=False)["name"].agg(list)
    order = {r: i for i, r in enumerate(r for r, _ in _RULES)}
    rules = v.groupby("artist_id", sort=False)["rules"].agg(
        lambda rs: sorted({r for lst in rs for r in lst}, key=lambda r: order.get(r, len(order))))
    roles = credits.groupby("artist_id")["role"].agg(lambda rs: [r for r in ROLES if r in set(rs)])
    n_tracks = credits.groupby("artist_id")["track_id"].nunique()
    out = head.set_index("artist_id")
    out["variants"] = variants
    out["roles"] = roles
    out["n_tracks"] = n_tracks
    out["merge_rules"] = rules
    ids_text: dict[str, list[str]] = defaultdict(list)
    for source in ID_SOURCES:
        sev = ev[ev["source"] == source]
        out[f"{source}_artist_ids"] = sev.groupby("artist_id")["ext_id"].agg(lambda s: sorted(set(s)))
        out[f"{source}_artist_ids"] = out[f"{source}_artist_ids"].map(lambda x: x if isinstance(x, list) else [])
        per = sev.groupby(["artist_id", "ext_id"])["track_id"].nunique().reset_index()
        for aid, eid, n in zip(per["artist_id"], per["ext_id"], per["track_id"]):
            ids_text[aid].append(f"{source} id {eid} on {n} of {{n}} track(s)")
    evidence = []
    for aid, nv, nt in zip(out.index, out["variants"].map(len), out["n_tracks"]):
        parts = [f"{nv} variant{'s' if nv != 1 else ''}, {nt} track{'s' if nt != 1 else ''}"]
        if aid in why:
            parts.append(why[aid])
        ids = [t.replace("{n}", str(nt)) for t in ids_text.get(aid, [])]
        parts.append("; ".join(ids) if ids else "no external artist id")
        evidence.append("; ".join(parts))
    out["evidence"] = evidence
    out["built_at"] = as_utc(built_at)
    out = out.reset_index().sort_values(["fold_key", "artist_id"], kind="mergesort")
    out = GOLD_ARTISTS.conform(out[GOLD_ARTISTS.column_names].reset_index(drop=True))
    GOLD_ARTISTS.validate(out)
    return out


# ---- the credit map (track -> artist) for the other two tables ---------------------------------------------
def credit_artists(con: duckdb.DuckDBPyConnection, artists: pd.DataFrame) -> pd.DataFrame:
    """Distinct (track_id, artist_id) credits, with the artist ids of ``artists`` (gold.artists): the same
    rules as ``build_artists``; a credit whose artist is not in ``artists`` is left out."""
    credits, _, _ = _resolve(con)
    pairs = credits[["track_id", "artist_id"]].drop_duplicates()
    known = set(artists["artist_id"]) if len(artists) else set()
    return pairs[pairs["artist_id"].isin(known)].reset_index(drop=True)


class _Registered:
    """A frame visible to DuckDB under a unique name for one ``with`` block."""

    def __init__(self, con, df: pd.DataFrame):
        self.con, self.df, self.name = con, df, f"_songnodes_{uuid.uuid4().hex}"

    def __enter__(self) -> str:
        self.con.register(self.name, self.df)
        return self.name

    def __exit__(self, *exc) -> None:
        self.con.unregister(self.name)


def _year(expr: str) -> str:
    y = f"TRY_CAST(substr(CAST({expr} AS VARCHAR), 1, 4) AS INTEGER)"
    return f"(CASE WHEN {y} BETWEEN 1900 AND 2100 THEN {y} END)"


def _names(artists: pd.DataFrame) -> pd.DataFrame:
    """artist_id -> name of the canonical artists (typed even when empty, for DuckDB)."""
    if len(artists):
        return artists[["artist_id", "name"]]
    return pd.DataFrame({"artist_id": pd.Series([], dtype=object), "name": pd.Series([], dtype=object)})


@contextlib.contextmanager
def _credit_relations(con: duckdb.DuckDBPyConnection, artists: pd.DataFrame):
    """The CTEs both artist tables start from: ``ca`` (distinct track -> artist credits) and ``nm`` (artist id
    -> name), over frames registered with DuckDB for the block."""
    with _Registered(con, credit_artists(con, artists)) as ca_t, _Registered(con, _names(artists)) as names_t:
        yield (f"ca AS (SELECT DISTINCT CAST(track_id AS VARCHAR) AS track_id, CAST(artist_id AS VARCHAR) AS artist_id"
               f" FROM {ca_t}),\n"
               f"nm AS (SELECT CAST(artist_id AS VARCHAR) AS artist_id, CAST(name AS VARCHAR) AS name FROM {names_t})")


def build_artist_analytics(con: duckdb.DuckDBPyConnection, built_at: dt.datetime,
                           artists: pd.DataFrame) -> pd.DataFrame:
    """The gold.artist_analytics frame: one row per artist of ``artists`` (validated)."""
    with _credit_relations(con, artists) as relations:
        df = con.execute(f"""
WITH {relations},
pl AS (SELECT playlist_id, coalesce(mix_date, CAST(scrape_date AS VARCHAR)) AS played_on, djs FROM silver.playlists),
pt AS (SELECT track_id, playlist_id FROM silver.playlist_tracks WHERE track_id IS NOT NULL),
tp AS (SELECT track_id, count(*) AS plays FROM pt GROUP BY track_id),
base AS (SELECT ca.artist_id, count(*) AS tracks, CAST(sum(coalesce(tp.plays, 0)) AS BIGINT) AS plays
         FROM ca LEFT JOIN tp USING (track_id) GROUP BY ca.artist_id),
apl AS MATERIALIZED (SELECT DISTINCT ca.artist_id, pt.playlist_id FROM ca JOIN pt USING (track_id)),
pls AS (SELECT apl.artist_id, count(*) AS playlists, min({_year('pl.played_on')}) AS y0,
               max({_year('pl.played_on')}) AS y1
        FROM apl JOIN pl USING (playlist_id) GROUP BY apl.artist_id),
dj AS (SELECT apl.artist_id, count(DISTINCT lower(u.dj)) AS djs
       FROM apl JOIN pl USING (playlist_id), unnest(pl.djs) AS u(dj) WHERE u.dj IS NOT NULL GROUP BY apl.artist_id),
co AS (SELECT a.artist_id, count(DISTINCT b.artist_id) AS collaborators
       FROM ca AS a JOIN ca AS b ON a.track_id = b.track_id AND a.artist_id <> b.artist_id GROUP BY a.artist_id),
tl AS (SELECT t.track_id, coalesce(nullif(trim(e.label), ''), nullif(trim(t.label), '')) AS label,
              {_year('e.release_date')} AS released
       FROM silver.tracks AS t LEFT JOIN gold.enriched_tracks AS e USING (track_id)),
labs AS (SELECT artist_id, list(label ORDER BY n DESC, label)[1:{MAX_LABELS}] AS labels
         FROM (SELECT ca.artist_id, tl.label, count(*) AS n FROM ca JOIN tl USING (track_id)
               WHERE tl.label IS NOT NULL GROUP BY ALL) GROUP BY artist_id),
rel AS (SELECT ca.artist_id, min(tl.released) AS r0, max(tl.released) AS r1
        FROM ca JOIN tl USING (track_id) GROUP BY ca.artist_id)
SELECT n.artist_id, n.name, coalesce(b.tracks, 0) AS tracks, coalesce(b.plays, 0) AS plays,
       coalesce(p.playlists, 0) AS playlists, coalesce(d.djs, 0) AS djs, coalesce(c.collaborators, 0) AS collaborators,
       coalesce(l.labels, []::VARCHAR[]) AS labels,
       CAST(least(p.y0, r.r0) AS BIGINT) AS first_active_year, CAST(greatest(p.y1, r.r1) AS BIGINT) AS last_active_year
FROM nm AS n
LEFT JOIN base AS b USING (artist_id) LEFT JOIN pls AS p USING (artist_id) LEFT JOIN dj AS d USING (artist_id)
LEFT JOIN co AS c USING (artist_id) LEFT JOIN labs AS l USING (artist_id) LEFT JOIN rel AS r USING (artist_id)
ORDER BY plays DESC, artist_id
""").df()
    df["built_at"] = as_utc(built_at)
    out = GOLD_ARTIST_ANALYTICS.conform(df[GOLD_ARTIST_ANALYTICS.column_names])
    GOLD_ARTIST_ANALYTICS.validate(out)
    return out


def build_artist_collaborations(con: duckdb.DuckDBPyConnection, built_at: dt.datetime,
                                artists: pd.DataFrame) -> pd.DataFrame:
    """The gold.artist_collaborations frame: pairs a < b co-credited on a track (validated)."""
    with _credit_relations(con, artists) as relations:
        df = con.execute(f"""
WITH {relations},
tp AS (SELECT track_id, count(*) AS plays FROM silver.playlist_tracks WHERE track_id IS NOT NULL GROUP BY track_id),
pairs AS (SELECT a.artist_id AS artist_id_a, b.artist_id AS artist_id_b, a.track_id
          FROM ca AS a JOIN ca AS b ON a.track_id = b.track_id AND a.artist_id < b.artist_id)
SELECT p.artist_id_a, p.artist_id_b, na.name AS name_a, nb.name AS name_b,
       count(*) AS tracks, CAST(sum(coalesce(tp.plays, 0)) AS BIGINT) AS plays
FROM pairs AS p LEFT JOIN tp USING (track_id)
JOIN nm AS na ON na.artist_id = p.artist_id_a JOIN nm AS nb ON nb.artist_id = p.artist_id_b
GROUP BY ALL
ORDER BY tracks DESC, plays DESC, artist_id_a, artist_id_b
""").df()
    df["built_at"] = as_utc(built_at)
    out = GOLD_ARTIST_COLLABORATIONS.conform(df[GOLD_ARTIST_COLLABORATIONS.column_names])
    GOLD_ARTIST_COLLABORATIONS.validate(out)
    return out


__all__ = ["ID_SOURCES", "artist_key", "build_artist_analytics", "build_artist_collaborations", "build_artists",
           "credit_artists", "make_artist_id", "merge_rules"]
