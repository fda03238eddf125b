"""Parquet-per-partition lakehouse under one root, written atomically, read with pyarrow or DuckDB.

Layout: ``<root>/<layer>/<table>/scrape_date=<YYYY-MM-DD>/<file>.parquet``. Silver writes one
``part.parquet`` per partition and replaces it (idempotent re-materialisation); bronze writes one
file per run and never rewrites one (append-only). A file becomes visible only by ``os.replace``
of a fully written, fsynced temp file, so a killed process leaves no partial parquet behind.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schemas import ContractViolation, TableSpec

PARTIAL_SUFFIX = ".partial"
SILVER_FILE = "part.parquet"


@dataclass(frozen=True)
class Staged:
    tmp: Path  # fully written and fsynced, hidden (leading "_")
    final: Path


class Lakehouse:
    table_format = "parquet"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        # table -> snapshot id of this object's last commit to it (Iceberg; a folder has no snapshots)
        self.last_snapshots: dict[str, int] = {}

    def describe(self) -> str:
        return str(self.root)

    def commit_lock(self):
        """Held while one build publishes several tables, so builds' publications do not interleave. The folder
        layout publishes by back-to-back renames and needs none."""
        return contextlib.nullcontext()

    def table_dir(self, spec: TableSpec) -> Path:
        return self.root / spec.layer / spec.name

    def partition_dir(self, spec: TableSpec, partition: str) -> Path:
        return self.table_dir(spec) / f"scrape_date={partition}"

    def files(self, spec: TableSpec, partition: str | None = None) -> list[Path]:
        if spec.single_file:
            path = self.table_dir(spec) / spec.single_file
            return [path] if path.exists() else []
        base = self.partition_dir(spec, partition) if partition else self.table_dir(spec)
        pattern = "*.parquet" if partition else "scrape_date=*/*.parquet"
        return sorted(p for p in base.glob(pattern) if not p.name.startswith("_"))

    def partitions(self, spec: TableSpec) -> list[str]:
        return sorted({p.parent.name.split("=", 1)[1] for p in self.files(spec)})

    def partition_signatures(self, spec: TableSpec) -> dict[str, str]:
        """Partition -> a signature of its file (size, mtime, inode): a rewrite changes it. One file per partition
        (silver, enrichment, gold)."""
        out = {}
        for path in self.files(spec):
            st = path.stat()
            out[path.parent.name.split("=", 1)[1]] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        return out

    def read_recent(self, spec: TableSpec, column: str, since, columns: list[str]) -> pd.DataFrame:
        """The rows of the files written at or after ``since`` (append-only tables: a file is written once, after
        the rows in it, so its mtime bounds every ``column`` value in it); older files are never opened."""
        cutoff = since.timestamp()
        return self.read_files(spec, [f for f in self.files(spec) if f.stat().st_mtime >= cutoff], columns)

    def write(self, spec: TableSpec, df: pd.DataFrame | pa.Table, partition: str, file_name: str = SILVER_FILE) -> Path:
        """Validate ``df`` against the table contract and publish it atomically as one file.

        Raises ``ContractViolation`` (nothing written) when a column is unknown, missing,
        out of order or of the wrong type. An arrow table must come from ``to_arrow`` (already validated).
        """
        return self.write_batches(spec, [df], partition, file_name)

    def write_batches(self, spec: TableSpec, batches: Iterable[pd.DataFrame | pa.Table], partition: str,
                      file_name: str = SILVER_FILE) -> Path:
        """Like ``write`` for data that arrives in batches (each validated on arrival): one file, published
        atomically after the last batch, so memory holds one batch and a failure publishes nothing."""
        staged = self.stage(spec, batches, partition, file_name)
        try:
            return self.publish([staged])[0]
        finally:
            self.discard([staged])

    def write_single(self, spec: TableSpec, batches: Iterable[pd.DataFrame | pa.Table]) -> Path:
        """An unpartitioned table (``spec.single_file``): validated batches into its one file, published
        atomically after the last batch (readers see the previous build or this one, never a mix)."""
        staged = self.stage_single(spec, batches)
        try:
            return self.publish([staged])[0]
        finally:
            self.discard([staged])

    def stage_single(self, spec: TableSpec, batches: Iterable[pd.DataFrame | pa.Table]) -> Staged:
        """Stage an unpartitioned table's file (hidden, fsynced): ``publish`` it once its checks pass, else
        ``discard`` it and the previous file stays."""
        if not spec.single_file:
            raise ValueError(f"{spec.qualified} is partitioned: use write / write_batches")
        return self._stage_into(spec, batches, self.table_dir(spec), spec.single_file)

    def stage(self, spec: TableSpec, batches: Iterable[pd.DataFrame | pa.Table], partition: str,
              file_name: str = SILVER_FILE) -> Staged:
        """Write (validated, fsynced) to a hidden temp file next to its final name; nothing is visible yet."""
        return self._stage_into(spec, batches, self.partition_dir(spec, partition), file_name)

    def _stage_into(self, spec: TableSpec, batches: Iterable[pd.DataFrame | pa.Table], target_dir: Path,
                    file_name: str) -> Staged:
        target_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_partials(target_dir)
        tmp = target_dir / f"_{uuid.uuid4().hex}{PARTIAL_SUFFIX}"
        writer = None
        try:
            for batch in batches:
                writer = self._append(spec, batch, tmp, writer)
            if writer is None:  # no batch at all: an empty file, so the partition reads as empty
                writer = self._append(spec, spec.conform([]), tmp, None)
            writer.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        except BaseException:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
            raise
        return Staged(tmp, target_dir / file_name)

    def _append(self, spec: TableSpec, batch: pd.DataFrame | pa.Table, tmp: Path,
                writer: pq.ParquetWriter | None) -> pq.ParquetWriter:
        table = batch if isinstance(batch, pa.Table) else self.to_arrow(spec, batch)
        if table.schema != spec.arrow():
            raise ValueError(f"{spec.qualified}: arrow schema differs from the contract: {table.schema}")
        if writer is None:  # the first batch's schema carries the pandas dtypes (nullable ints) for readers
            writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=spec.row_group_rows)
        return writer

    @staticmethod
    def publish(staged: list[Staged]) -> list[Path]:
        """Make staged files visible, one ``os.replace`` each, back to back (the tables of one
        materialisation change together: no slow write sits between two of them)."""
        for s in staged:
            os.replace(s.tmp, s.final)
        for directory in {s.final.parent for s in staged}:
            _fsync_dir(directory)
        return [s.final for s in staged]

    @staticmethod
    def discard(staged: list[Staged]) -> None:
        """Remove staged files that were not published (after a failure)."""
        for s in staged:
            s.tmp.unlink(missing_ok=True)

    @staticmethod
    def to_arrow(spec: TableSpec, df: pd.DataFrame) -> pa.Table:
        """Validate against the contract (strict, ordered) and convert; raises ContractViolation."""
        validated = spec.validate(df)
        return pa.Table.from_pandas(validated, schema=spec.arrow(), preserve_index=False)

    def read(self, spec: TableSpec, partition: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Every file of the table (or one partition), each verified against the contract first: a foreign or
        wrong-typed file raises ``ContractViolation`` naming it instead of being merged. Columns a file
        predates (added to the contract later, nullable) read as nulls."""
        return self.read_files(spec, self.files(spec, partition), columns)

    def read_files(self, spec: TableSpec, files: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
        """Like ``read`` for a chosen subset of the table's files (each verified first)."""
        return self.read_arrow(spec, files, columns).to_pandas()

    def read_arrow(self, spec: TableSpec, files: list[Path], columns: list[str] | None = None) -> pa.Table:
        """The rows of the given files of the table as one arrow table (each file verified first)."""
        if not files:
            empty = spec.arrow().empty_table()
            return empty.select(columns) if columns else empty
        tables = [self._read_file(spec, f, columns) for f in files]
        return pa.concat_tables(tables, promote_options="permissive")

    def _read_file(self, spec: TableSpec, path: Path, columns: list[str] | None) -> pa.Table:
        self.verify_file(spec, path)
        stored = set(pq.read_schema(path).names)
        wanted = columns or spec.column_names
        table = pq.read_table(path, columns=[c for c in wanted if c in stored])
        target = spec.arrow()
        for name in wanted:
            if name not in stored:  # a nullable column added to the contract after this file was written
                table = table.append_column(target.field(name), pa.nulls(len(table), target.field(name).type))
        return table.select(wanted)

    def verify_file(self, spec: TableSpec, path: Path) -> None:
        """Refuse a file that is not this table's: unknown columns, a column of another type, a missing
        required column, or (silver, enrichment, gold) a file name no writer of this table uses."""
        if spec.layer in ("silver", "enrichment", "gold") and not spec.single_file and path.name != SILVER_FILE:
            raise ContractViolation(f"{path}: not a file of {spec.qualified} (only {SILVER_FILE} is written there)")
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise ContractViolation(f"{path}: unreadable parquet file of {spec.qualified}: {exc}") from exc
        target = spec.arrow()
        problems = []
        for field in schema:
            if field.name not in target.names:
                problems.append(f"unknown column {field.name!r}")
            elif not field.type.equals(target.field(field.name).type):
                problems.append(f"column {field.name!r} is {field.type}, the contract says {target.field(field.name).type}")
        for field in target:
            if field.name not in schema.names and not field.nullable:
                problems.append(f"required column {field.name!r} missing")
        if problems:
            raise ContractViolation(f"{path}: refused, not a valid file of {spec.qualified}: {'; '.join(problems)}")

    def read_where(self, spec: TableSpec, partition: str, column: str, value) -> pd.DataFrame:
        """Rows of one partition whose ``column`` equals ``value`` (pyarrow filter: other rows never loaded)."""
        files = self.files(spec, partition)
        if not files:
            return spec.arrow().empty_table().to_pandas()
        tables = []
        for f in files:
            self.verify_file(spec, f)
            tables.append(pq.read_table(f, filters=[(column, "=", value)]))
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()

    def iter_rows(self, spec: TableSpec, partition: str, batch_size: int = 8):
        """The rows of one partition as dicts, a few at a time (bounded memory for big bodies)."""
        for f in self.files(spec, partition):
            self.verify_file(spec, f)
            for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size):
                yield from batch.to_pylist()

    def file_columns(self, spec: TableSpec, partition: str) -> dict[str, list[str]]:
        """Column names actually stored in each file of a partition (for the unknown-column check)."""
        return {str(f): pq.read_schema(f).names for f in self.files(spec, partition)}

    @staticmethod
    def _sweep_partials(directory: Path) -> None:
        """Remove temp files a killed writer left behind (old enough not to belong to a live writer)."""
        cutoff = time.time() - 3600
        for leftover in directory.glob(f"_*{PARTIAL_SUFFIX}"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except OSError:
                pass


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
