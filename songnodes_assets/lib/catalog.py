"""DuckDB catalog over the lakehouse: in-memory database with the views of ``sql/views/*.sql``
(``bronze.raw_scrape_data``, ``silver.playlists`` …) and read-only query execution."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import duckdb

from .lakehouse import Lakehouse
from .schemas import ALL_TABLES, ContractViolation

_PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryRefused(ValueError):
    pass


def sql_dir() -> Path:
    """``SONGNODES_SQL_DIR``, else the repository's ``sql/`` folder beside the package."""
    env = os.environ.get("SONGNODES_SQL_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "sql"
    if not (path / "views").is_dir():
        raise FileNotFoundError(f"no DuckDB view definitions in {path / 'views'} (set SONGNODES_SQL_DIR)")
    return path


def _verified_files(lake: Lakehouse, spec) -> list[Path]:
    """The table's files that match its contract; a foreign or wrong-typed file is named on stderr and left
    out of the view, never merged into it."""
    good = []
    for f in lake.files(spec):
        try:
            lake.verify_file(spec, f)
        except ContractViolation as exc:
            print(f"songnodes: {exc}", file=sys.stderr)
            continue
        good.append(f)
    return good


def _source(lake: Lakehouse, qualified: str) -> str:
    spec = ALL_TABLES[qualified]
    files = _verified_files(lake, spec)
    if not files:
        return spec.sql_empty_select()
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], union_by_name = true)"


def connect(root: str | os.PathLike, sql_path: Path | None = None) -> duckdb.DuckDBPyConnection:
    lake = Lakehouse(root)
    con = duckdb.connect(":memory:")
    for file in sorted((sql_path or sql_dir()).joinpath("views").glob("*.sql")):
        text = _PLACEHOLDER_RE.sub(lambda m: _source(lake, m.group(1)), file.read_text(encoding="utf-8"))
        con.execute(text)
    return con


def run_query(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement (SELECT / WITH / DESCRIBE / SHOW / EXPLAIN)."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot parse query: {exc}") from exc
    if len(statements) != 1:
        raise QueryRefused(f"expected exactly one statement, got {len(statements)}")
    if statements[0].type not in ALLOWED_STATEMENTS:
        raise QueryRefused(f"only read-only SELECT queries are allowed (got {statements[0].type.name})")
    rel = con.execute(query)
    columns = [d[0] for d in rel.description] if rel.description else []
    return columns, rel.fetchall()


def table_counts(root: str | os.PathLike) -> dict[str, int]:
    con = connect(root)
    names = ["bronze.raw_scrape_data", "silver.playlists", "silver.playlist_tracks", "silver.tracks",
             "silver.transitions", "enrichment.musicbrainz", "enrichment.spotify", "enrichment.lastfm",
             "enrichment.discogs", "enrichment.getsongbpm", "enrichment.acousticbrainz", "gold.enriched_tracks",
             "gold.transition_graph"]
    return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
