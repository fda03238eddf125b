"""DuckDB catalog over the lakehouse: in-memory database with the views of ``sql/views/*.sql``
(``bronze.raw_scrape_data``, ``silver.playlists`` …) and read-only query execution.

The connection is a sandbox (``connect``): DuckDB may open only the parquet files the views read
(``allowed_paths``, not the whole root, because DuckDB cannot tell a read from a write and a directory
grant would let a query write new files or overwrite ``part.parquet``) and its spill directory (a private
temp directory, not ./.tmp), ``enable_external_access`` is off (no other local file, no URL, no extension
install/load, no pandas replacement scan), extension auto-install/auto-load, community extensions and
persistent secrets are off, and ``lock_configuration`` stops ``SET``/``RESET`` from undoing any of it.
``run_query`` adds a statement check on top (``check_query``): one statement, and every query node a SELECT,
since DuckDB 2.0 runs ``COPY``/``INSERT``/``UPDATE``/``DELETE`` inside a ``WITH`` and ``EXPLAIN ANALYZE``
executes what it explains."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import duckdb

from .lakehouse import Lakehouse
from .schemas import ALL_TABLES, ContractViolation

_PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
# Query nodes of a read-only statement (json_serialize_sql); DuckDB also has INSERT/UPDATE/DELETE/COPY_QUERY_NODE,
# which a CTE may hold. Anything not listed here is refused.
READ_ONLY_NODES = {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"}
# Keywords that only appear in writing or configuring statements; a query holding one as a keyword is refused
# even if the node check passes (a column with such a name must be quoted: "update").
WRITE_KEYWORDS = {"ALTER", "ATTACH", "CALL", "CHECKPOINT", "COPY", "CREATE", "DELETE", "DETACH", "DROP", "EXPORT",
                  "IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE", "PRAGMA", "RESET", "SET", "TRUNCATE", "UPDATE",
                  "VACUUM"}
_HINT = ("`songnodes sql` runs one read-only SELECT / WITH ... SELECT / DESCRIBE / SHOW / SUMMARIZE / "
         "plain EXPLAIN SELECT")

# The sandbox, applied in this order (allowed_paths cannot change once external access is off).
SANDBOX_SETTINGS = (
    ("enable_external_access", False),
    ("autoinstall_known_extensions", False),
    ("autoload_known_extensions", False),
    ("allow_community_extensions", False),
    ("allow_persistent_secrets", False),
)


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


def _snapshot_name(qualified: str) -> str:
    return "snapshot__" + qualified.replace(".", "__")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(spec, files: list[Path]) -> str:
    if not files:
        return spec.sql_empty_select()
    return f"read_parquet([{', '.join(_quote(str(f)) for f in files)}], union_by_name = true)"


def connect(root: str | os.PathLike | Lakehouse, sql_path: Path | None = None,
            memory_limit: str | None = None, snapshot: dict | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lakehouse views, locked down: it can read the verified parquet files the
    views list and nothing else on disk or on the network, and its configuration cannot be changed.
    ``memory_limit`` (e.g. "2GB"; DuckDB's default is 80 % of RAM) bounds it, spilling to its private temp
    directory beyond that. ``snapshot`` (qualified name -> arrow table, e.g. Iceberg tables as of a time)
    replaces the local files: the views read those rows, and no file at all is readable. ``root`` may be a
    ``Lakehouse``; an Iceberg one gives each view its table's current snapshot (pyarrow datasets over the files
    Iceberg lists, local or on S3: DuckDB scans them through pyarrow and opens no file itself)."""
    lake = root if isinstance(root, Lakehouse) else Lakehouse(root)
    view_files = sorted((sql_path or sql_dir()).joinpath("views").glob("*.sql"))
    texts = [f.read_text(encoding="utf-8") for f in view_files]
    tables = {m.group(1) for t in texts for m in _PLACEHOLDER_RE.finditer(t)}
    if snapshot is None and lake.table_format == "iceberg":  # each table's current snapshot, scanned lazily
        snapshot = lake.datasets([ALL_TABLES[q] for q in sorted(tables)])
    if snapshot is None:
        files = {q: _verified_files(lake, ALL_TABLES[q]) for q in sorted(tables)}
        allowed = sorted({str(f) for fs in files.values() for f in fs})
        source = lambda q: _source(ALL_TABLES[q], files[q])  # noqa: E731
    else:
        allowed = []
        source = lambda q: f"(SELECT * FROM {_snapshot_name(q)})"  # noqa: E731
    con = duckdb.connect(":memory:")
    for q in sorted(tables) if snapshot is not None else []:
        con.register(_snapshot_name(q), snapshot.get(q, ALL_TABLES[q].arrow().empty_table()))
    # DuckDB keeps its temp (spill) directory writable when external access is off; by default that is ./.tmp
    # in the cwd, so point it into a private directory of this connection instead (removed with it).
    private = tempfile.mkdtemp(prefix="songnodes-duckdb-")
    weakref.finalize(con, shutil.rmtree, private, True)
    con.execute(f"SET temp_directory = {_quote(os.path.join(private, 'spill'))}")
    if memory_limit:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", memory_limit.strip(), re.I):
            raise ValueError(f"memory limit {memory_limit!r}: give a size such as 2GB or 512MB")
        con.execute(f"SET memory_limit = {_quote(memory_limit.strip())}")
    con.execute(f"SET allowed_paths = [{', '.join(_quote(p) for p in allowed)}]::VARCHAR[]")
    for name, value in SANDBOX_SETTINGS:
        con.execute(f"SET {name} = {str(value).lower()}")
    for text in texts:  # views are created inside the sandbox: they need nothing but their files
        con.execute(_PLACEHOLDER_RE.sub(lambda m: source(m.group(1)), text))
    con.execute("SET lock_configuration = true")
    return con


def _tokens(query: str) -> list[tuple[int, str, str]]:
    """(byte offset, type, upper-cased text) of each token that is not a comment (DuckDB counts UTF-8 bytes)."""
    data = query.encode("utf-8")
    toks = duckdb.tokenize(query)
    out = []
    for i, (offset, kind) in enumerate(toks):
        if kind == duckdb.token_type.comment:
            continue
        end = toks[i + 1][0] if i + 1 < len(toks) else len(data)
        out.append((offset, kind, data[offset:end].decode("utf-8", errors="replace").strip().upper()))
    return out


def _query_nodes(obj, found: set[str]) -> set[str]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "type" and isinstance(value, str) and value.endswith("_NODE"):
                found.add(value)
            else:
                _query_nodes(value, found)
    elif isinstance(obj, list):
        for value in obj:
            _query_nodes(value, found)
    return found


def _statement(con: duckdb.DuckDBPyConnection, query: str) -> tuple[duckdb.StatementType, str]:
    """The type of the one statement in ``query`` and the word it starts with (INSTALL, RESET …)."""
    try:
        statements = con.extract_statements(query)
        kinds = [s.type for s in statements]
    except (duckdb.Error, ValueError) as exc:  # ValueError: a statement type the Python client does not know
        raise QueryRefused(f"cannot parse query: {exc}; {_HINT}") from exc
    if len(kinds) != 1:
        raise QueryRefused(f"expected exactly one statement, got {len(kinds)}; {_HINT}")
    toks = _tokens(query)
    word = toks[0][2] if toks and toks[0][1] == duckdb.token_type.keyword else ""
    return kinds[0], (word if word and word != "WITH" else kinds[0].name)


def _check_select(con: duckdb.DuckDBPyConnection, query: str) -> None:
    kind, word = _statement(con, query)
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefused(f"{word} statements are refused; {_HINT}")
    for _, tok_kind, text in _tokens(query):
        if tok_kind == duckdb.token_type.keyword and text in WRITE_KEYWORDS:
            raise QueryRefused(f"{text} is refused inside a query (it writes or changes the database; "
                               f"quote it if it is a column name); {_HINT}")
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?::VARCHAR)", [query]).fetchone()[0])
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot check query: {exc}") from exc
    if tree.get("error"):
        raise QueryRefused(f"cannot check query: {tree.get('error_message', 'not a plain SELECT')}; {_HINT}")
    bad = sorted(_query_nodes(tree, set()) - READ_ONLY_NODES)
    if bad:
        parts = ", ".join(n.removesuffix("_NODE").removesuffix("_QUERY") for n in bad)
        raise QueryRefused(f"the query holds a non-SELECT part ({parts}); {_HINT}")


def check_query(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise ``QueryRefused`` unless ``query`` is one read-only statement: SELECT (WITH, DESCRIBE, SHOW,
    SUMMARIZE, FROM, VALUES are SELECTs to DuckDB) or ``EXPLAIN <select>``. ``EXPLAIN ANALYZE`` is refused
    whatever it wraps: it executes the statement, and the SELECT itself gives the same rows."""
    kind, word = _statement(con, query)
    if kind not in ALLOWED_STATEMENTS:
        raise QueryRefused(f"{word} statements are refused; {_HINT}")
    if kind == duckdb.StatementType.EXPLAIN:
        toks = _tokens(query)
        if len(toks) < 2 or toks[0][2] != "EXPLAIN":
            raise QueryRefused(f"cannot check this EXPLAIN; {_HINT}")
        if toks[1][2] in ("ANALYZE", "ANALYSE"):
            raise QueryRefused(f"EXPLAIN ANALYZE is refused (it executes the statement it explains); run the "
                               f"SELECT itself, or plain EXPLAIN for its plan; {_HINT}")
        if toks[1][2] == "(":
            raise QueryRefused(f"EXPLAIN options are refused; use plain EXPLAIN SELECT ...; {_HINT}")
        query = query.encode("utf-8")[toks[1][0]:].decode("utf-8")
    _check_select(con, query)


def run_query(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement (SELECT / WITH / DESCRIBE / SHOW / plain EXPLAIN) on a ``connect`` sandbox."""
    check_query(con, query)
    try:
        rel = con.execute(query)
        columns = [d[0] for d in rel.description] if rel.description else []
        return columns, rel.fetchall()
    except duckdb.PermissionException as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryRefused(f"blocked by the DuckDB sandbox, which reads only the lakehouse parquet files behind "
                           f"the views (no other file, no URL, no extension): {detail}") from exc


def table_counts(root: str | os.PathLike | Lakehouse) -> dict[str, int]:
    con = connect(root)
    names = ["bronze.raw_scrape_data", "silver.playlists", "silver.playlist_tracks", "silver.tracks",
             "silver.transitions", "enrichment.musicbrainz", "enrichment.spotify", "enrichment.lastfm",
             "enrichment.discogs", "enrichment.getsongbpm", "enrichment.acousticbrainz", "gold.enriched_tracks",
             "gold.transition_graph"]
    return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
