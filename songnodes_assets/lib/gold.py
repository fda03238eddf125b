"""Gold: merge the per-source enrichment rows into one row per track with per-field provenance,
and export the weighted transition graph."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from .camelot import camelot, key_name
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
    """Write nodes/edges as parquet and CSV (and GraphML), each file atomically. Returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}

    def publish(name: str, writer) -> None:
        tmp = out_dir / f"_{name}.partial"
        writer(tmp)
        os.replace(tmp, out_dir / name)
        paths[name] = str(out_dir / name)

    flat_nodes = nodes.copy()
    for col in flat_nodes.columns:
        if flat_nodes[col].map(lambda v: isinstance(v, (list, tuple)) or hasattr(v, "tolist")).any():
            flat_nodes[col] = flat_nodes[col].map(lambda v: "; ".join(map(str, list(v))) if v is not None else "")
    publish("nodes.parquet", lambda p: nodes.to_parquet(p, index=False))
    publish("edges.parquet", lambda p: edges.to_parquet(p, index=False))
    publish("nodes.csv", lambda p: flat_nodes.to_csv(p, index=False))
    publish("edges.csv", lambda p: edges.to_csv(p, index=False))
    if graphml:
        publish("transition_graph.graphml", lambda p: _write_graphml(flat_nodes, edges, p))
    return paths


def _write_graphml(nodes: pd.DataFrame, edges: pd.DataFrame, path: Path) -> None:
    node_attrs = [c for c in nodes.columns if c != "track_id"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
        for c in node_attrs:
            fh.write(f'  <key id="{escape(c)}" for="node" attr.name="{escape(c)}" attr.type="string"/>\n')
        fh.write('  <key id="weight" for="edge" attr.name="weight" attr.type="int"/>\n')
        fh.write('  <graph id="transitions" edgedefault="directed">\n')
        for r in nodes.itertuples(index=False):
            fh.write(f'    <node id="{escape(str(r.track_id))}">')
            for c in node_attrs:
                v = getattr(r, c)
                if v is not None and not (isinstance(v, float) and pd.isna(v)) and v != "":
                    fh.write(f'<data key="{escape(c)}">{escape(str(v))}</data>')
            fh.write("</node>\n")
        for i, r in enumerate(edges.itertuples(index=False)):
            fh.write(f'    <edge id="e{i}" source="{escape(r.from_track_id)}" target="{escape(r.to_track_id)}">'
                     f'<data key="weight">{int(r.weight)}</data></edge>\n')
        fh.write("  </graph>\n</graphml>\n")
