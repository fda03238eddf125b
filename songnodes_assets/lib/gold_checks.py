"""What must hold in gold: one row per track, every transition endpoint known, exports that agree."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

_NS = "{http://graphml.graphdrawing.org/xmlns}"


def duplicate_track_ids(gold: pd.DataFrame) -> list[str]:
    dup = gold["track_id"][gold["track_id"].duplicated()] if len(gold) else []
    return [f"track {t} has more than one gold row" for t in sorted(set(dup))]


def missing_tracks(expected_ids, gold: pd.DataFrame) -> list[str]:
    missing = sorted(set(expected_ids) - set(gold["track_id"]))
    return [f"track {t} has no gold row" for t in missing]


def _csv_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def export_counts(out_dir: Path) -> dict[str, int]:
    """Rows per export file: nodes/edges in parquet and CSV, <node>/<edge> elements in the GraphML."""
    counts = {}
    for name in ("nodes", "edges"):
        if (out_dir / f"{name}.parquet").exists():
            counts[f"{name}.parquet"] = pq.ParquetFile(out_dir / f"{name}.parquet").metadata.num_rows
        if (out_dir / f"{name}.csv").exists():
            counts[f"{name}.csv"] = _csv_rows(out_dir / f"{name}.csv")
    graphml = out_dir / "transition_graph.graphml"
    if graphml.exists():
        nodes = edges = 0
        for _, elem in ET.iterparse(graphml, events=("end",)):
            if elem.tag == f"{_NS}node":
                nodes += 1
            elif elem.tag == f"{_NS}edge":
                edges += 1
            elem.clear()
        counts["graphml.nodes"], counts["graphml.edges"] = nodes, edges
    return counts


def export_problems(out_dir: Path, nodes: int, edges: int, graphml: bool = True) -> list[str]:
    """Disagreements between the export files and the graph just built. (Temp files are hidden and never read;
    write_graph removes its own on failure and sweeps a killed writer's after an hour.)"""
    counts = export_counts(out_dir)
    want = {"nodes.parquet": nodes, "nodes.csv": nodes, "edges.parquet": edges, "edges.csv": edges}
    if graphml:
        want.update({"graphml.nodes": nodes, "graphml.edges": edges})
    out = [f"{name}: {counts.get(name, 'missing')} rows, the graph has {n}" for name, n in want.items()
           if counts.get(name) != n]
    return out


def dangling_endpoints(nodes: pd.DataFrame, edges: pd.DataFrame) -> list[str]:
    """Edge endpoints that are not nodes of the graph."""
    known = set(nodes["track_id"]) if len(nodes) else set()
    ends = set(edges["from_track_id"]) | set(edges["to_track_id"]) if len(edges) else set()
    return [f"endpoint {t} is not a node" for t in sorted(ends - known)]
