"""Table contracts: one column spec per table gives both the pandera schema (strict, ordered: an
unknown or missing column fails the write) and the pyarrow schema the parquet files carry."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa
import pyarrow as pa_arrow


class ContractViolation(ValueError):
    """A frame does not match its table contract; the message names the table and the columns."""


@dataclass(frozen=True)
class Col:
    name: str
    kind: str  # str | int | float | bool | ts | bytes | list
    nullable: bool = True


def _is_str_list(value) -> bool:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _as_lists(values) -> np.ndarray:
    """Each value as a list (tuples and arrays converted, anything else []); a list is kept as it is, not
    copied (a day of silver has a million of them)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v if type(v) is list else list(v) if isinstance(v, (list, tuple, np.ndarray)) else []
    return out


_PANDERA = {
    "str": lambda c: pa.Column(pd.StringDtype(), nullable=c.nullable),
    "int": lambda c: pa.Column(pd.Int64Dtype(), nullable=c.nullable),
    "float": lambda c: pa.Column(pd.Float64Dtype(), nullable=c.nullable),
    "bool": lambda c: pa.Column(pd.BooleanDtype(), nullable=c.nullable),
    "ts": lambda c: pa.Column(pd.DatetimeTZDtype(tz="UTC"), nullable=c.nullable),
    "bytes": lambda c: pa.Column(object, nullable=c.nullable,
                                 checks=pa.Check(lambda v: isinstance(v, (bytes, bytearray)), element_wise=True,
                                                 ignore_na=True, name="is_bytes")),
    "list": lambda c: pa.Column(object, nullable=False,
                                checks=pa.Check(_is_str_list, element_wise=True, name="is_list_of_str")),
}
_ARROW = {
    "str": pa_arrow.string(), "int": pa_arrow.int64(), "float": pa_arrow.float64(), "bool": pa_arrow.bool_(),
    "ts": pa_arrow.timestamp("us", tz="UTC"), "bytes": pa_arrow.large_binary(), "list": pa_arrow.list_(pa_arrow.string()),
}
_PANDAS = {"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean"}


@dataclass(frozen=True)
class TableSpec:
    layer: str
    name: str
    columns: tuple[Col, ...]
    single_file: str | None = None  # unpartitioned tables: one file under the table folder
    row_group_rows: int | None = None  # small row groups let readers stream big rows (page bodies)

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def pandera(self) -> pa.DataFrameSchema:
        return pa.DataFrameSchema({c.name: _PANDERA[c.kind](c) for c in self.columns}, strict=True, ordered=True,
                                  name=self.qualified, coerce=False)

    def validate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Strict, ordered validation; raises ContractViolation naming unknown/missing/bad columns."""
        extra = [c for c in df.columns if c not in self.column_names]
        missing = [c for c in self.column_names if c not in df.columns]
        if extra or missing:
            raise ContractViolation(f"{self.qualified}: unknown columns {extra} (a field the contract does not know), "
                                    f"missing columns {missing}")
        if list(df.columns) != self.column_names:
            raise ContractViolation(f"{self.qualified}: columns out of contract order: {list(df.columns)}")
        try:
            return self.pandera().validate(df, lazy=True)
        except (pa_errors.SchemaError, pa_errors.SchemaErrors) as exc:
            cases = getattr(exc, "failure_cases", None)
            detail = cases.head(10).to_string() if isinstance(cases, pd.DataFrame) else str(exc)[:2000]
            raise ContractViolation(f"{self.qualified}: values break the contract:\n{detail}") from exc

    def validate_arrow(self, table: pa_arrow.Table) -> pa_arrow.Table:
        """The same contract for an arrow table (a batch from an engine, no pandas round trip): exact columns in
        order, each castable to its type (lists of strings, bytes...), no null where the contract forbids one.
        The result has the contract's schema and the pandas metadata a validated frame would carry, so readers
        get the same frames either way. Raises ContractViolation naming the table and the columns."""
        names = table.schema.names
        extra = [c for c in names if c not in self.column_names]
        missing = [c for c in self.column_names if c not in names]
        if extra or missing:
            raise ContractViolation(f"{self.qualified}: unknown columns {extra} (a field the contract does not know), "
                                    f"missing columns {missing}")
        if names != self.column_names:
            raise ContractViolation(f"{self.qualified}: columns out of contract order: {names}")
        target = self.arrow()
        columns, problems = [], []
        for field, column in zip(target, table.columns):
            if not column.type.equals(field.type):
                try:  # only a representation of the same kind (int32, large_string...), never int -> string
                    if _kind(column.type) != _kind(field.type):
                        raise TypeError("another kind of value")
                    column = column.cast(field.type, safe=True)
                except (TypeError, pa_arrow.ArrowInvalid, pa_arrow.ArrowNotImplementedError) as exc:
                    problems.append(f"column {field.name!r} is {column.type}, the contract says {field.type}: {exc}")
                    continue
            if not field.nullable and column.null_count:
                problems.append(f"column {field.name!r}: {column.null_count} nulls, the contract allows none")
            columns.append(column)
        if problems:
            raise ContractViolation(f"{self.qualified}: values break the contract: {'; '.join(problems)}")
        return pa_arrow.Table.from_arrays(columns, schema=target.with_metadata(_pandas_metadata(self)))

    def arrow(self) -> pa_arrow.Schema:
        return pa_arrow.schema([pa_arrow.field(c.name, _ARROW[c.kind], nullable=c.nullable) for c in self.columns])

    def conform(self, rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
        """Build a frame from rows with this table's dtypes. Columns are NOT added or removed here:
        a field the spec does not know stays in the frame so that validation rejects it."""
        df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
        if df.empty and not len(df.columns):
            df = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in self.columns})
        for c in self.columns:
            if c.name not in df.columns:
                continue
            if c.kind in _PANDAS:
                df[c.name] = df[c.name].astype(_PANDAS[c.kind])
            elif c.kind == "ts":
                df[c.name] = pd.to_datetime(df[c.name], utc=True).dt.as_unit("ns")  # the contract's unit
            elif c.kind == "list":
                df[c.name] = pd.Series(_as_lists(df[c.name]), index=df.index, dtype=object)
        return df

    def sql_empty_select(self) -> str:
        """A typed zero-row SELECT for a table that has no files yet."""
        sql_types = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
                     "ts": "TIMESTAMPTZ", "bytes": "BLOB", "list": "VARCHAR[]"}
        cols = ", ".join(f"CAST(NULL AS {sql_types[c.kind]}) AS {c.name}" for c in self.columns)
        return f"(SELECT {cols} WHERE false)"


def _kind(t: pa_arrow.DataType) -> str:
    """The contract kind an arrow type represents (lists by their element kind)."""
    types = pa_arrow.types
    if types.is_list(t) or types.is_large_list(t):
        return "list of " + _kind(t.value_type)
    for kind, test in (("str", lambda x: types.is_string(x) or types.is_large_string(x) or types.is_string_view(x)),
                       ("int", types.is_integer), ("float", types.is_floating), ("bool", types.is_boolean),
                       ("ts", lambda x: types.is_timestamp(x) and x.tz is not None),
                       ("bytes", lambda x: types.is_binary(x) or types.is_large_binary(x))):
        if test(t):
            return kind
    return str(t)


@functools.lru_cache(maxsize=None)
def _pandas_metadata(spec: TableSpec) -> dict:
    """The schema metadata ``pa.Table.from_pandas`` gives a validated frame of this table (dtypes for readers)."""
    empty = spec.conform(pd.DataFrame({c.name: pd.Series([], dtype=object) for c in spec.columns}))
    return pa_arrow.Table.from_pandas(empty, schema=spec.arrow(), preserve_index=False).schema.metadata


BRONZE_RAW = TableSpec("bronze", "raw_scrape_data", (
    Col("scrape_date", "str", False), Col("source", "str", False), Col("record_kind", "str", False),
    Col("url", "str", False), Col("final_url", "str"), Col("page_title", "str"), Col("status", "int"),
    Col("content_type", "str"), Col("headers_json", "str"), Col("fetched_at", "ts", False), Col("sha256", "str"),
    Col("body", "bytes"), Col("body_bytes", "int"), Col("error_kind", "str"), Col("error", "str"),
    Col("attempts", "int"), Col("elapsed_ms", "int"), Col("fetcher_version", "str", False), Col("run_id", "str", False),
), row_group_rows=16)

_PLAYLIST_KEY = (Col("playlist_id", "str", False), Col("source", "str", False), Col("url", "str", False),
                 Col("scrape_date", "str", False))

SILVER_PLAYLISTS = TableSpec("silver", "playlists", _PLAYLIST_KEY + (
    Col("page_title", "str"), Col("mix_date", "str"), Col("date_precision", "str"), Col("djs", "list"),
    Col("show", "str"), Col("venue", "str"), Col("is_live", "bool"), Col("categories", "list"),
    Col("genres", "list"), Col("entities", "list"), Col("tracklist_status", "str"),
    Col("has_tracklist_section", "bool", False), Col("n_entries", "int", False), Col("n_identified", "int", False),
    Col("n_placeholders", "int", False), Col("n_gaps", "int", False), Col("n_unparsed", "int", False),
    Col("n_mashups", "int", False), Col("fetched_at", "ts", False), Col("sha256", "str"),
    Col("parser_version", "str", False),
))

SILVER_PLAYLIST_TRACKS = TableSpec("silver", "playlist_tracks", _PLAYLIST_KEY + (
    Col("line_no", "int", False), Col("position", "int"), Col("section", "str"), Col("section_index", "int", False),
    Col("entry_type", "str", False), Col("outcome", "str", False), Col("raw_line", "str", False),
    Col("cue_raw", "str"), Col("cue_seconds", "int"), Col("cue_valid", "bool"), Col("artists", "list"),
    Col("featured", "list"), Col("title", "str"), Col("title_full", "str"), Col("remixers", "list"),
    Col("version", "str"), Col("label", "str"), Col("catalog_number", "str"), Col("is_identified", "bool", False),
    Col("is_mashup", "bool", False), Col("is_uncertain", "bool", False), Col("component_of", "int"),
    Col("component_index", "int"), Col("track_id", "str"), Col("note", "str"), Col("parser_version", "str", False),
))

SILVER_TRACKS = TableSpec("silver", "tracks", (
    Col("track_id", "str", False), Col("artists", "list"), Col("featured", "list"), Col("title", "str", False),
    Col("remixers", "list"), Col("version", "str"), Col("label", "str"), Col("catalog_number", "str"),
    Col("is_mashup", "bool", False), Col("first_seen_at", "ts", False), Col("first_seen_playlist_id", "str", False),
    Col("n_occurrences", "int", False), Col("scrape_date", "str", False), Col("parser_version", "str", False),
))

SILVER_TRANSITIONS = TableSpec("silver", "transitions", (
    Col("from_track_id", "str", False), Col("to_track_id", "str", False), Col("playlist_id", "str", False),
    Col("section_index", "int", False), Col("from_position", "int", False), Col("to_position", "int", False),
    Col("from_line_no", "int", False), Col("to_line_no", "int", False), Col("scrape_date", "str", False),
    Col("parser_version", "str", False),
))

# Quarantine: one row per bad line or bad page of the partition, with the rule it broke. A quarantined line
# stays in playlist_tracks (entry_type "quarantined", no track id, no edge); a bad page keeps its bronze row.
SILVER_PROBLEMS = TableSpec("silver", "problems", (
    Col("scrape_date", "str", False), Col("source", "str", False), Col("url", "str", False),
    Col("playlist_id", "str"), Col("scope", "str", False), Col("line_no", "int"), Col("raw_line", "str"),
    Col("problem", "str", False), Col("detail", "str"), Col("parser_version", "str", False),
))

ALL_TABLES = {t.qualified: t for t in (BRONZE_RAW, SILVER_PLAYLISTS, SILVER_PLAYLIST_TRACKS, SILVER_TRACKS,
                                       SILVER_TRANSITIONS, SILVER_PROBLEMS)}


ENRICHMENT_COLUMNS = (
    Col("track_id", "str", False), Col("source", "str", False), Col("status", "str", False),
    Col("error_class", "str"), Col("error", "str"), Col("is_retriable", "bool", False), Col("attempts", "int", False),
    Col("api_calls", "int", False), Col("cache_hits", "int", False), Col("score", "float"), Col("tier", "str"),
    Col("match_reason", "str"), Col("source_id", "str"), Col("isrc", "str"), Col("bpm", "float"),
    Col("key_pitch_class", "int"), Col("mode", "str"), Col("genres", "list"), Col("tags", "list"), Col("label", "str"),
    Col("catalog_number", "str"), Col("release_date", "str"), Col("duration_ms", "int"), Col("matched_artist", "str"),
    Col("matched_title", "str"), Col("fetched_at", "ts", False), Col("scrape_date", "str", False),
    Col("source_version", "str", False),
    # the newest attempt when it did not replace this row (a failure keeps the last good result)
    Col("last_attempt_at", "ts"), Col("last_error_class", "str"), Col("last_error", "str"),
    # the matched record's credited artists and this source's artist id for each ("" when it gives none);
    # aligned lists, empty when the source has no artist list (files written before read as nulls -> [])
    Col("artist_names", "list"), Col("artist_ids", "list"),
)
ENRICHMENT_SOURCES = ("musicbrainz", "spotify", "lastfm", "discogs", "getsongbpm", "acousticbrainz")
ENRICHMENT = {name: TableSpec("enrichment", name, ENRICHMENT_COLUMNS) for name in ENRICHMENT_SOURCES}

_PROVENANCE_FIELDS = ("isrc", "bpm", "musical_key", "camelot", "genres", "label", "catalog_number", "release_date",
                      "duration_ms", "musicbrainz_id", "spotify_id", "discogs_release_id")
_FIELD_KIND = {"bpm": "float", "duration_ms": "int", "genres": "list"}


def _provenance_cols() -> tuple[Col, ...]:
    cols: list[Col] = []
    for f in _PROVENANCE_FIELDS:
        cols += [Col(f, _FIELD_KIND.get(f, "str")), Col(f"{f}_source", "str"), Col(f"{f}_score", "float")]
    return tuple(cols)


GOLD_ENRICHED = TableSpec("gold", "enriched_tracks", (
    Col("track_id", "str", False), Col("artists", "list"), Col("title", "str", False), Col("remixers", "list"),
    Col("is_mashup", "bool", False),
) + _provenance_cols() + (
    Col("key_pitch_class", "int"), Col("mode", "str"), Col("sources_used", "list"), Col("sources_failed", "list"),
    Col("status", "str", False), Col("scrape_date", "str", False), Col("built_at", "ts", False),
))

GOLD_TRANSITION_GRAPH = TableSpec("gold", "transition_graph", (
    Col("from_track_id", "str", False), Col("to_track_id", "str", False), Col("weight", "int", False),
    Col("first_seen_date", "str"), Col("last_seen_date", "str"),
    Col("from_artists", "list"), Col("from_title", "str"), Col("from_bpm", "float"), Col("from_camelot", "str"),
    Col("from_genres", "list"), Col("to_artists", "list"), Col("to_title", "str"), Col("to_bpm", "float"),
    Col("to_camelot", "str"), Col("to_genres", "list"),
), single_file="edges.parquet")

ALL_TABLES.update({t.qualified: t for t in list(ENRICHMENT.values()) + [GOLD_ENRICHED, GOLD_TRANSITION_GRAPH]})

# Gold analytics (unpartitioned: each is an aggregate over all history, rebuilt from the silver/gold views).
GOLD_TRACK_ANALYTICS = TableSpec("gold", "track_analytics", (
    Col("track_id", "str", False), Col("track_name", "str", False), Col("artists", "list"), Col("title", "str"),
    Col("remixers", "list"), Col("is_mashup", "bool", False),
    Col("plays", "int", False), Col("playlists", "int", False), Col("djs", "int", False),
    Col("first_played", "str"), Col("last_played", "str"), Col("in_degree", "int", False),
    Col("out_degree", "int", False), Col("top_predecessors", "list"), Col("top_successors", "list"),
    Col("bpm", "float"), Col("musical_key", "str"), Col("camelot", "str"), Col("compatible_camelot", "list"),
    Col("genres", "list"), Col("label", "str"), Col("built_at", "ts", False),
), single_file="track_analytics.parquet", row_group_rows=20_000)  # sorted by track_id: a lookup reads one group

GOLD_PLAYLIST_ANALYTICS = TableSpec("gold", "playlist_analytics", (
    Col("playlist_id", "str", False), Col("source", "str", False), Col("url", "str", False), Col("page_title", "str"),
    Col("mix_date", "str"), Col("djs", "list"), Col("entries", "int", False), Col("identified", "int", False),
    Col("identified_share", "float", False), Col("tracks_with_bpm", "int", False), Col("bpm_start", "float"),
    Col("bpm_end", "float"), Col("bpm_min", "float"), Col("bpm_max", "float"), Col("bpm_mean", "float"),
    Col("tracks_with_key", "int", False), Col("key_changes", "int", False), Col("scored_transitions", "int", False),
    Col("harmonic_transitions", "int", False), Col("harmonic_flow_score", "float"), Col("genres", "list"),
    Col("labels", "list"), Col("built_at", "ts", False),
), single_file="playlist_analytics.parquet")

# "What do DJs play after this?": tier "played" = real transitions, tier "neighbourhood" = two hops away,
# never played after it but compatible. rank 1 = best; reason says why in words.
GOLD_NEXT_TRACKS = TableSpec("gold", "next_tracks", (
    Col("from_track_id", "str", False), Col("rank", "int", False), Col("to_track_id", "str", False),
    Col("tier", "str", False), Col("score", "float", False), Col("weight", "int", False), Col("djs", "int", False),
    Col("last_seen_date", "str"), Col("via_track_id", "str"), Col("from_camelot", "str"), Col("to_camelot", "str"),
    Col("key_relation", "str", False), Col("from_bpm", "float"), Col("to_bpm", "float"), Col("bpm_delta", "float"),
    Col("reason", "str", False), Col("built_at", "ts", False),
), single_file="next_tracks.parquet", row_group_rows=20_000)  # sorted by from_track_id, rank

# Canonical artists: one row per artist (name variants merged by the rules in lib/analytics/artists.py).
GOLD_ARTISTS = TableSpec("gold", "artists", (
    Col("artist_id", "str", False), Col("name", "str", False), Col("fold_key", "str", False), Col("variants", "list"),
    Col("roles", "list"), Col("n_tracks", "int", False), Col("musicbrainz_artist_ids", "list"),
    Col("spotify_artist_ids", "list"), Col("discogs_artist_ids", "list"), Col("merge_rules", "list"),
    Col("evidence", "str"), Col("built_at", "ts", False),
), single_file="artists.parquet")

GOLD_ARTIST_ANALYTICS = TableSpec("gold", "artist_analytics", (
    Col("artist_id", "str", False), Col("name", "str", False), Col("tracks", "int", False), Col("plays", "int", False),
    Col("playlists", "int", False), Col("djs", "int", False), Col("collaborators", "int", False),
    Col("labels", "list"), Col("first_active_year", "int"), Col("last_active_year", "int"),
    Col("built_at", "ts", False),
), single_file="artist_analytics.parquet")

GOLD_ARTIST_COLLABORATIONS = TableSpec("gold", "artist_collaborations", (
    Col("artist_id_a", "str", False), Col("artist_id_b", "str", False), Col("name_a", "str", False),
    Col("name_b", "str", False), Col("tracks", "int", False), Col("plays", "int", False),
    Col("built_at", "ts", False),
), single_file="artist_collaborations.parquet")

GOLD_ANALYTICS = (GOLD_TRACK_ANALYTICS, GOLD_PLAYLIST_ANALYTICS, GOLD_NEXT_TRACKS, GOLD_ARTISTS,
                  GOLD_ARTIST_ANALYTICS, GOLD_ARTIST_COLLABORATIONS)
ALL_TABLES.update({t.qualified: t for t in GOLD_ANALYTICS})

OPS_ALERTS = TableSpec("ops", "alerts", (
    Col("alert_id", "str", False), Col("fired_at", "ts", False), Col("alert_date", "str", False),
    Col("sensor", "str", False), Col("key", "str", False), Col("severity", "str", False), Col("state", "str", False),
    Col("message", "str", False), Col("value", "float"), Col("threshold", "float"),
))
ALL_TABLES[OPS_ALERTS.qualified] = OPS_ALERTS
