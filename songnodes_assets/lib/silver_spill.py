"""A day's parsed entries on disk, and the silver tables computed from them by DuckDB in bounded memory.

Pages are parsed one at a time; their entries go to a spill parquet file in column batches (no dict per row),
tagged with the page's ordinal (``_seq``), its fetch time and a global row ordinal (``_row``, the order the
entries were parsed in). Only the pages that win their identity (the newest fetch of one mix) are kept, by
ordinal. playlist_tracks, tracks and transitions are then SQL over the spill, sorted and streamed out in
batches, so memory holds one batch, never the day; DuckDB itself is capped and spills to the work folder.
"""

from __future__ import annotations

import dataclasses
import operator
import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .schemas import SILVER_PLAYLIST_TRACKS, ContractViolation

KEY_COLUMNS = ("playlist_id", "source", "url", "scrape_date")
# The playlist id of imported tracks that belong to no playlist: they feed silver.tracks only.
UNLINKED = "legacy:unlinked"
EXTRA = (pa.field("_fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
         pa.field("_seq", pa.int64(), nullable=False), pa.field("_row", pa.int64(), nullable=False))
SPILL_SCHEMA = pa.schema(list(SILVER_PLAYLIST_TRACKS.arrow()) + list(EXTRA))
FLUSH_ROWS = 5_000
# DuckDB's own memory for the sorts and joins (it spills beyond it): the day's working set stays bounded.
DUCKDB_MEMORY = "256MB"


class EntrySpill:
    """Append-only spill of parsed entries, written in column batches to ``<workdir>/entries.parquet``."""

    def __init__(self, workdir: Path, field_names: tuple[str, ...], parser_version: str):
        _refuse_unknown(field_names)
        self.path = Path(workdir) / "entries.parquet"
        self.fields = field_names
        self._values = operator.attrgetter(*field_names)  # one C call per entry: all its fields, in order
        self.parser_version = parser_version
        self.rows = 0
        self._pending: list[tuple[dict, list, object, int]] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(self.path, SPILL_SCHEMA, compression="lz4")
        self._kinds: set[type] = set()

    def _check_kinds(self, entries: list) -> None:
        """An entry class with a field the contract does not know (a new parser field) is refused by name."""
        for kind in set(map(type, entries)) - self._kinds:
            if dataclasses.is_dataclass(kind):
                _refuse_unknown(tuple(f.name for f in dataclasses.fields(kind)))
            self._kinds.add(kind)

    def add(self, key: dict, entries: list, fetched_at, seq: int) -> None:
        """Entries of one page (or one imported mix) with its playlist key, fetch time and page ordinal."""
        if entries:
            self._check_kinds(entries)
            self._pending.append((key, entries, fetched_at, seq))
            self._pending_rows += len(entries)
            if self._pending_rows >= FLUSH_ROWS:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        groups, self._pending, n = self._pending, [], self._pending_rows
        self._pending_rows = 0
        # per-page values (key, fetch time, ordinal) converted once per page and repeated by index
        page_of_row = pa.array(np.repeat(np.arange(len(groups)), [len(entries) for _, entries, _, _ in groups]))
        per_page = {k: [key[k] for key, _, _, _ in groups] for k in KEY_COLUMNS}
        per_page["_fetched_at"] = [at for _, _, at, _ in groups]
        per_page["_seq"] = [seq for _, _, _, seq in groups]
        rows = list(map(self._values, (e for _, entries, _, _ in groups for e in entries)))
        cols = dict(zip(self.fields, zip(*rows)))
        del rows
        arrays = []
        for field in SPILL_SCHEMA:
            try:
                if field.name in per_page:
                    arrays.append(pa.array(per_page[field.name], type=field.type).take(page_of_row))
                elif field.name == "parser_version":
                    arrays.append(pa.repeat(pa.scalar(self.parser_version, field.type), n))
                elif field.name == "_row":
                    arrays.append(pa.array(np.arange(self.rows, self.rows + n, dtype="int64")))
                else:
                    arrays.append(pa.array(cols[field.name], type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise ContractViolation(f"{SILVER_PLAYLIST_TRACKS.qualified}: column {field.name!r} does not fit "
                                        f"{field.type}: {exc}") from exc
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=SPILL_SCHEMA))
        self.rows += n

    def close(self) -> None:
        self._flush()
        self._writer.close()


def _refuse_unknown(field_names: tuple[str, ...]) -> None:
    """Entry fields must be exactly the contract's entry columns (a new or lost field fails, naming it)."""
    entry_columns = [c for c in SILVER_PLAYLIST_TRACKS.column_names if c not in KEY_COLUMNS + ("parser_version",)]
    unknown = [n for n in field_names if n not in entry_columns]
    missing = [c for c in entry_columns if c not in field_names]
    if unknown or missing:
        raise ContractViolation(f"{SILVER_PLAYLIST_TRACKS.qualified}: unknown columns {unknown} (a field the contract "
                                f"does not know), missing columns {missing}")


def connect(workdir: Path, spill: Path, winners: list[int]) -> duckdb.DuckDBPyConnection:
    """A DuckDB session over the spill with ``kept`` = the entries of the winning pages (and imported mixes)."""
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY, "temp_directory": str(Path(workdir) / "duckdb_tmp"),
                                 "threads": 1, "preserve_insertion_order": False})
    con.register("winner_arrow", pa.table({"seq": pa.array(sorted(set(winners)), type=pa.int64())}))
    con.execute("CREATE TEMP TABLE winners AS SELECT seq FROM winner_arrow")
    con.unregister("winner_arrow")
    con.execute(f"CREATE VIEW kept AS SELECT s.* FROM read_parquet('{_quote(spill)}') s "
                "SEMI JOIN winners w ON s._seq = w.seq")
    return con


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


PT_COLUMNS = ", ".join(SILVER_PLAYLIST_TRACKS.column_names)


def playlist_tracks_sql() -> str:
    """Every entry of a playlist (the imported tracks without one only feed tracks), in key order."""
    return (f"SELECT {PT_COLUMNS} FROM kept WHERE playlist_id <> '{UNLINKED}' "
            "ORDER BY playlist_id, line_no NULLS FIRST, component_index NULLS FIRST, _row")


def summary_sql() -> str:
    """The day's line counts the checks and the run metadata need (top-level entries of playlists)."""
    return ("SELECT count(*) AS lines, "
            "count(*) FILTER (WHERE entry_type IN ('track', 'mashup', 'quarantined')) AS credited_lines, "
            "count(*) FILTER (WHERE is_identified) AS identified, "
            "count(*) FILTER (WHERE entry_type = 'placeholder') AS placeholders, "
            "count(*) FILTER (WHERE entry_type IS DISTINCT FROM 'gap') AS non_gap, "
            "count(*) FILTER (WHERE entry_type IS DISTINCT FROM 'gap' AND coalesce(len(artists), 0) > 0) "
            "AS non_gap_with_artist "
            f"FROM kept WHERE playlist_id <> '{UNLINKED}' AND component_of IS NULL")


def duplicate_keys_sql() -> str:
    return ("SELECT playlist_id, line_no, component_index, count(*) AS n FROM kept "
            f"WHERE playlist_id <> '{UNLINKED}' GROUP BY ALL HAVING count(*) > 1 "
            "ORDER BY playlist_id, line_no NULLS FIRST, component_index NULLS FIRST LIMIT 1000")


FIRST_SIGHTING_ORDER = "_fetched_at NULLS FIRST, playlist_id NULLS FIRST, line_no NULLS FIRST, " \
                       "component_index NULLS FIRST, _row"


def tracks_sql() -> str:
    """One row per track id: its first sighting's attributes, the first label / catalog number seen, the count
    (one window pass: every function shares the partition and its order)."""
    return f"""
        SELECT track_id, artists, featured, title, remixers, version,
               first_value(label IGNORE NULLS) OVER whole AS label,
               first_value(catalog_number IGNORE NULLS) OVER whole AS catalog_number,
               coalesce(is_mashup, false) AS is_mashup, _fetched_at AS first_seen_at,
               playlist_id AS first_seen_playlist_id, count(*) OVER whole AS n_occurrences,
               $scrape_date AS scrape_date, $parser_version AS parser_version
        FROM kept
        WHERE is_identified AND track_id IS NOT NULL
        WINDOW sighting AS (PARTITION BY track_id ORDER BY {FIRST_SIGHTING_ORDER}),
               whole AS (sighting ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        QUALIFY row_number() OVER sighting = 1
        ORDER BY track_id"""


def transitions_sql() -> str:
    """Edges between consecutive top-level entries of one section of one playlist, both identified, never A -> A."""
    return f"""
        WITH top AS (
            SELECT playlist_id, section_index, position, line_no, track_id, is_identified, _row
            FROM kept
            WHERE component_of IS NULL AND playlist_id <> '{UNLINKED}' AND section_index IS NOT NULL),
        w AS (
            SELECT *, lag(track_id) OVER g AS prev_id, lag(is_identified) OVER g AS prev_ok,
                   lag(position) OVER g AS prev_pos, lag(line_no) OVER g AS prev_line
            FROM top WINDOW g AS (PARTITION BY playlist_id, section_index ORDER BY position NULLS LAST, _row))
        SELECT prev_id AS from_track_id, track_id AS to_track_id, playlist_id, section_index,
               prev_pos AS from_position, position AS to_position, prev_line AS from_line_no, line_no AS to_line_no,
               $scrape_date AS scrape_date, $parser_version AS parser_version
        FROM w
        WHERE is_identified AND coalesce(prev_ok, false) AND track_id IS NOT NULL AND prev_id IS NOT NULL
              AND prev_id <> track_id
        ORDER BY playlist_id, section_index, position NULLS LAST, _row"""
