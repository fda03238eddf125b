"""Gold: merge the per-source enrichment rows into one row per track with per-field provenance,
and export the weighted transition graph."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from .camelot import camelot, key_name
from .lakehouse import PARTIAL_SUFFIX, Lakehouse, Staged
from .schemas import GOLD_ENRICHED

# Field -> sources in priority order ("tracklist" = what the DJ tracklist itself said).
DEFAULT_PRIORITY: dict[str, tuple[str, ...]] = {
    "isrc": ("spotify", "musicbrainz"),
    "bpm": ("getsongbpm", "acousticbrainz", "spotify"),
    "key": ("getsongbpm", "acousticbrainz", "spotify"),
    "genres": ("discogs", "lastfm", "getsongbpm", "musicbrainz"),
    "label": ("discogs", "tracklist", "spotify"),
    "catalog_number": ("discogs", "tracklist"),
    "release_date": ("musicbrainz", "discogs", "spotify"),
    "duration_ms": ("spotify", "musicbrainz", "lastfm"),
}
ID_FIELDS = {"musicbrainz_id": "musicbrainz", "spotify_id": "spotify", "discogs_release_id": "discogs"}


def priority_from_env() -> dict[str, tuple[str, ...]]:
    """SONGNODES_GOLD_PRIORITY_<FIELD>=a,b,c overrides one field's source order."""
    out = dict(DEFAULT_PRIORITY)
    for fname in DEFAULT_PRIORITY:
        raw = os.environ.get(f"SONGNODES_GOLD_PRIORITY_{fname.upper()}", "").strip()
        if raw:
            out[fname] = tuple(s.strip() for s in raw.split(",") if s.strip())
    return out


def _present(value) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and pd.isna(value):
        return False
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return len(list(value)) > 0
    return value is not pd.NA and value != ""


def merge(tracks: pd.DataFrame, sources: dict[str, pd.DataFrame | None], scrape_date: str,
          priority: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """One gold row per track. ``sources[name]`` is that source's partition (None when it has none:
    the source failed before saving anything, or has not run)."""
    priority = priority or DEFAULT_PRIORITY
    by_source: dict[str, dict[str, dict]] = {}
    for name, df in sources.items():
        if df is not None and not df.empty:
            by_source[name] = {r["track_id"]: r for r in df.to_dict("records")}
    mb_scores = {tid: r.get("score") for tid, r in by_source.get("musicbrainz", {}).items()}
    built_at = dt.datetime.now(dt.timezone.utc)
    rows = []
    for t in tracks.to_dict("records"):
        tid = t["track_id"]
        matched = {s: rows_[tid] for s, rows_ in by_source.items() if tid in rows_ and rows_[tid]["status"] == "matched"}
        failed = sorted(s for s in sources if sources[s] is None
                        or (tid in by_source.get(s, {}) and by_source[s][tid]["status"] == "failed"))
        row = {"track_id": tid, "artists": list(t["artists"]), "title": t["title"], "remixers": list(t["remixers"]),
               "is_mashup": bool(t["is_mashup"])}

        def pick(field_name: str, column: str):
            for src in priority.get(field_name, ()):
                if src == "tracklist":
                    value = t.get(column)
                    if _present(value):
                        return value, "tracklist", None
                    continue
                r = matched.get(src)
                if r is not None and _present(r.get(column)):
                    score = r.get("score")
                    if score is None or (isinstance(score, float) and pd.isna(score)):
                        score = mb_scores.get(tid) if src == "acousticbrainz" else None
                    return r[column], src, score
            return None, None, None

        for fname, column in (("isrc", "isrc"), ("bpm", "bpm"), ("genres", "genres"), ("label", "label"),
                              ("catalog_number", "catalog_number"), ("release_date", "release_date"),
                              ("duration_ms", "duration_ms")):
            value, src, score = pick(fname, column)
            if fname == "genres":
                value = _dedupe(value if value is not None else [])
            row[fname], row[f"{fname}_source"], row[f"{fname}_score"] = value, src, score
        # key, mode and Camelot always come from one source together
        pc = mode = None
        key_src = key_score = None
        for src in priority.get("key", ()):
            r = matched.get(src)
            if r is not None and _present(r.get("key_pitch_class")) and r.get("mode") in ("major", "minor"):
                pc, mode, key_src = int(r["key_pitch_class"]), r["mode"], src
                key_score = r.get("score") if _present(r.get("score")) else mb_scores.get(tid)
                break
        row.update({"musical_key": key_name(pc, mode), "musical_key_source": key_src, "musical_key_score": key_score,
                    "camelot": camelot(pc, mode), "camelot_source": key_src, "camelot_score": key_score})
        for fname, src in ID_FIELDS.items():
            r = matched.get(src)
            row[fname] = r.get("source_id") if r is not None else None
            row[f"{fname}_source"] = src if r is not None else None
            row[f"{fname}_score"] = r.get("score") if r is not None else None
        used = sorted(matched)
        row.update({"key_pitch_class": pc, "mode": mode, "sources_used": used, "sources_failed": failed,
                    "status": "completed" if len(used) >= 2 else "partial" if used else "failed",
                    "scrape_date": scrape_date, "built_at": built_at})
        rows.append(row)
    if not rows:
        return GOLD_ENRICHED.conform(pd.DataFrame({c: pd.Series([], dtype=object) for c in GOLD_ENRICHED.column_names}))
    df = pd.DataFrame(rows)[GOLD_ENRICHED.column_names]
    for c in GOLD_ENRICHED.columns:
        if c.kind == "float":
            df[c.name] = pd.to_numeric(df[c.name], errors="coerce")
    return GOLD_ENRICHED.conform(df).sort_values("track_id").reset_index(drop=True)


def _dedupe(values) -> list[str]:
    seen, out = set(), []
    for v in list(values):
        k = str(v).strip().lower()
        if k and k not in seen:
            seen.add(k)
            out.append(str(v).strip())
    return out


def write_graph(nodes: pd.DataFrame, edges: pd.DataFrame, out_dir: Path, graphml: bool = True) -> dict[str, str]:
    """Write nodes/edges as parquet and CSV (and GraphML); returns the paths.

    All files are written (and fsynced) to hidden temp files first, then published back to back with
    ``os.replace``. If any writer fails, every temp file is removed and the previous exports stay as
    they were: the set of exports changes together or not at all (short of a crash between renames)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    Lakehouse._sweep_partials(out_dir)
    flat_nodes = _flatten_lists(nodes)
    writers = {
        "nodes.parquet": lambda p: nodes.to_parquet(p, index=False),
        "edges.parquet": lambda p: edges.to_parquet(p, index=False),
        "nodes.csv": lambda p: flat_nodes.to_csv(p, index=False),
        "edges.csv": lambda p: edges.to_csv(p, index=False),
    }
    if graphml:
        writers["transition_graph.graphml"] = lambda p: _write_graphml(flat_nodes, edges, p)
    staged: list[Staged] = []
    try:
        for name, writer in writers.items():
            (out_dir / f"_{name}{PARTIAL_SUFFIX}").unlink(missing_ok=True)  # left by the old one-by-one writer
            staged.append(Staged(out_dir / f"_{uuid.uuid4().hex}{PARTIAL_SUFFIX}", out_dir / name))
            writer(staged[-1].tmp)
            with open(staged[-1].tmp, "rb") as fh:
                os.fsync(fh.fileno())
        return {p.name: str(p) for p in Lakehouse.publish(staged)}
    finally:
        Lakehouse.discard(staged)  # temp files not published (all of them after a failure)


def _listlike(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _missing(value) -> bool:
    """None, NaN, NaT, pd.NA (never ambiguous: lists are not missing)."""
    if _listlike(value):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _flatten_lists(nodes: pd.DataFrame) -> pd.DataFrame:
    """List columns as "a; b" text (None where the value is missing), for CSV and GraphML."""
    flat = nodes.copy()
    for col in flat.columns:
        if flat[col].map(_listlike).any():
            flat[col] = flat[col].map(lambda v: "; ".join(str(x) for x in v if not _missing(x)) if _listlike(v)
                                      else None if _missing(v) else str(v))
    return flat


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(value) -> str:
    """Text safe in an XML element or double-quoted attribute (characters XML forbids are dropped)."""
    return escape(_XML_INVALID.sub("", str(value)), {'"': "&quot;"})


def _graphml_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_integer_dtype(column):
        return "long"
    return "double" if pd.api.types.is_float_dtype(column) else "string"


def _write_graphml(nodes: pd.DataFrame, edges: pd.DataFrame, path: Path) -> None:
    """One <node> per row of ``nodes``, one <edge> per row of ``edges``; a missing or empty attribute
    is left out (GraphML: the key has no value for that node)."""
    types = {c: _graphml_type(nodes[c]) for c in nodes.columns if c != "track_id"}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
        for c, kind in types.items():
            fh.write(f'  <key id="{_xml(c)}" for="node" attr.name="{_xml(c)}" attr.type="{kind}"/>\n')
        fh.write('  <key id="weight" for="edge" attr.name="weight" attr.type="int"/>\n')
        fh.write('  <graph id="transitions" edgedefault="directed">\n')
        for r in nodes.to_dict("records"):
            fh.write(f'    <node id="{_xml(r["track_id"])}">')
            for c, kind in types.items():
                v = r[c]
                if not _missing(v) and not (isinstance(v, str) and v == ""):
                    text = str(bool(v)).lower() if kind == "boolean" else v
                    fh.write(f'<data key="{_xml(c)}">{_xml(text)}</data>')
            fh.write("</node>\n")
        for i, r in enumerate(edges.itertuples(index=False)):
            fh.write(f'    <edge id="e{i}" source="{_xml(r.from_track_id)}" target="{_xml(r.to_track_id)}">'
                     f'<data key="weight">{int(r.weight)}</data></edge>\n')
        fh.write("  </graph>\n</graphml>\n")
