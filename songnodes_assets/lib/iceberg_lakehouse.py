"""The lakehouse with every table an Iceberg table (``SONGNODES_TABLE_FORMAT=iceberg``): same interface as
``Lakehouse``, reads and writes through the catalog (SQLite or PostgreSQL) and the warehouse (a folder or S3).

- A partition write is one Iceberg commit, under ``commit_lock``: an overwrite of that partition (silver,
  enrichment, gold) or, in bronze and ops.alerts (append-only), of the rows of that one run's file
  (``run_file``): a new run adds rows, a retried run replaces only its own, nothing else is ever rewritten.
  Readers see the old or the new snapshot, never a mix.
- Batches are validated and staged to a hidden local parquet file first (as in the folder layout): a breach or a
  kill before the commit publishes nothing.
- An empty partition (a day without new tracks) is a real result: Iceberg has no file for it, so it is kept as
  the table property ``songnodes.empty.<date>``, set in the same commit.
- Queries (DuckDB views) scan the files of each table's current snapshot as pyarrow datasets (the local folder or
  S3 through pyarrow's filesystem); DuckDB itself still opens no file and no URL.

The root folder keeps only what is local by nature: the track-sightings cache (``_index``) and the graph exports."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from . import iceberg_tables as it
from .lakehouse import SILVER_FILE, Lakehouse, Staged
from .schemas import ContractViolation, TableSpec, _pandas_metadata

COMMIT_LOCK_KEY = 0x536F6E674E6F  # "SongNo": the advisory lock key of one build's commits
EMPTY_PREFIX = "songnodes.empty."  # one table property per empty partition: songnodes.empty.<date> = "1"


@dataclass(frozen=True)
class IcebergStaged(Staged):
    spec: TableSpec | None = None
    partition: str | None = None
    file_name: str | None = None


class IcebergLakehouse(Lakehouse):
    table_format = "iceberg"

    def __init__(self, root, cfg: it.IcebergConfig):
        super().__init__(root)
        self.cfg = cfg
        self._catalog = None
        self.pins: dict[str, int] = {}  # table -> the snapshot reads use instead of the current one
        self._lock_depth = 0

    def pinned(self, pins: dict[str, int]) -> "IcebergLakehouse":
        """The same lakehouse reading the given tables at the given snapshots (e.g. the four silver tables of one
        build, as its materialisation recorded them); writes are unchanged."""
        other = IcebergLakehouse(self.root, self.cfg)
        other._catalog, other.pins = self._catalog, {**self.pins, **{k: int(v) for k, v in pins.items()}}
        return other

    def commit_times(self, spec: TableSpec) -> dict[int, int]:
        """Snapshot id -> its commit time (epoch ms) for the table's snapshots."""
        table = self._table(spec)
        return {s.snapshot_id: s.timestamp_ms for s in table.metadata.snapshots} if table is not None else {}

    def _snapshot_id(self, spec: TableSpec, table) -> int | None:
        """The snapshot reads of ``spec`` use: its pin, else the current one (None: nothing committed yet)."""
        if spec.qualified in self.pins:
            return self.pins[spec.qualified]
        current = table.current_snapshot() if table is not None else None
        return current.snapshot_id if current is not None else None

    @property
    def catalog(self):
        if self._catalog is None:
            self._catalog = it.open_catalog(self.cfg)
        return self._catalog

    def describe(self) -> str:
        return self.cfg.where

    @contextlib.contextmanager
    def commit_lock(self):
        """One commit (or one build's commits) at a time, across processes and hosts: a PostgreSQL advisory lock on
        the catalog's server, or a file lock beside a SQLite catalog. Iceberg commits one table at a time, so
        without it two builds publishing at once would interleave (tables of one build beside tables of the
        other), and writers of one table would race for the same metadata version until retries run out.
        Re-entrant for this object."""
        if self._lock_depth:  # already held by this lakehouse (a build's commits each take it too)
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with self._held():
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    @contextlib.contextmanager
    def _held(self):
        uri = self.cfg.catalog_uri
        if uri.startswith("postgresql"):
            from sqlalchemy import text

            with self.catalog.engine.connect() as con:
                con.execute(text("SELECT pg_advisory_lock(:k)"), {"k": COMMIT_LOCK_KEY})
                try:
                    yield
                finally:
                    con.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": COMMIT_LOCK_KEY})
        elif uri.startswith("sqlite:///"):
            import fcntl

            lock = Path(uri[len("sqlite:///"):] + ".commit.lock")
            lock.parent.mkdir(parents=True, exist_ok=True)
            with open(lock, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        else:
            raise it.IcebergConfigError(f"SONGNODES_ICEBERG_CATALOG={uri!r}: a sqlite:/// or postgresql URL")

    def _table(self, spec: TableSpec, create: bool = False):
        """The table (guarded: inside the warehouse, no property re-pointing its IO), or None when never written."""
        ident = (spec.layer, spec.name)
        if create:
            table = it.ensure_table(self.catalog, spec)
        elif self.catalog.table_exists(ident):
            table = self.catalog.load_table(ident)
        else:
            return None
        return it.guard_table(table, it._warehouse_uri(self.cfg.warehouse), spec.qualified)

    def _tasks(self, spec: TableSpec, partition: str | None = None, row_filter=None, table=None) -> list:
        """The checked file plan of the table (or a partition) at its pinned or current snapshot; ``table``: one
        already loaded in this call (each load is a catalog query and a metadata read)."""
        table = table if table is not None else self._table(spec)
        snapshot = self._snapshot_id(spec, table)
        if snapshot is None:
            return []
        return self._checked(spec, table.scan(row_filter=self._where(spec, partition, row_filter),
                                              snapshot_id=snapshot).plan_files())

    @staticmethod
    def _where(spec: TableSpec, partition: str | None, row_filter=None):
        """The rows of the partition (all rows of an unpartitioned table), narrowed by ``row_filter``."""
        where = it._partition_filter(None if spec.single_file else partition)
        if row_filter is None:
            return where
        from pyiceberg.expressions import And

        return And(where, row_filter)

    @staticmethod
    def _order(spec: TableSpec) -> list[str]:
        """The folder layout's row order: by partition, then (append-only tables) by run file; a stable sort keeps
        each file's rows as written."""
        return [c for c in (None if spec.single_file else it.PARTITION_COLUMN,
                            it.RUN_FILE if spec.layer in it.APPEND_LAYERS else None) if c]

    def _checked(self, spec: TableSpec, tasks) -> list:
        """The planned files, each inside the configured warehouse: a catalog entry pointing elsewhere (a tampered
        or foreign catalog) is not read, nor handed to DuckDB."""
        tasks = list(tasks)
        outside = [f.file_path for t in tasks for f in (t.file, *t.delete_files) if not self._in_warehouse(f.file_path)]
        if outside:
            raise ContractViolation(f"{spec.qualified}: {len(outside)} data files outside the warehouse "
                                    f"{self.cfg.warehouse}, e.g. {outside[0]}: refused")
        return tasks

    def _arrow_scan(self, spec: TableSpec, scan):
        """(pyiceberg's reader of ``scan``, its checked file tasks): what ``scan.to_arrow()`` does, with the check."""
        from pyiceberg.io.pyarrow import ArrowScan

        tasks = self._checked(spec, scan.plan_files())
        return ArrowScan(scan.table_metadata, scan.io, scan.projection(), scan.row_filter, scan.case_sensitive,
                         scan.limit), tasks

    def _in_warehouse(self, uri: str) -> bool:
        return it.within(uri, it._warehouse_uri(self.cfg.warehouse).rstrip("/") + "/")

    # -- what exists ------------------------------------------------------------------------------------------
    def files(self, spec: TableSpec, partition: str | None = None) -> list[str]:
        """The data files of the table's (or one partition's) current snapshot; an empty partition that was
        written lists a marker, so ``if lake.files(...)`` means "this partition was built" in both layouts."""
        table = self._table(spec)
        found = [t.file.file_path for t in self._tasks(spec, partition, table=table)]
        if not found and partition is not None and partition in self._empty(spec, table):
            return [f"iceberg:{spec.qualified}/scrape_date={partition}/(empty)"]
        return found

    def _empty(self, spec: TableSpec, table=None) -> set[str]:
        table = table if table is not None else self._table(spec)
        props = table.properties if table is not None else {}
        return {k[len(EMPTY_PREFIX):] for k in props if k.startswith(EMPTY_PREFIX)}

    def partitions(self, spec: TableSpec) -> list[str]:
        table = self._table(spec)
        if table is None or table.current_snapshot() is None or spec.single_file:
            return []
        return sorted({str(t.file.partition[0]) for t in self._tasks(spec, table=table)} | self._empty(spec, table))

    def partition_signatures(self, spec: TableSpec) -> dict[str, str]:
        """Partition -> a signature of its current data files (a rewrite gives new file names)."""
        by_part: dict[str, list[str]] = {}
        table = self._table(spec)
        for task in self._tasks(spec, table=table):
            by_part.setdefault(str(task.file.partition[0]), []).append(task.file.file_path)
        out = {p: hashlib.sha256("\n".join(sorted(fs)).encode()).hexdigest()[:32] for p, fs in by_part.items()}
        for p in self._empty(spec, table) - set(out):
            out[p] = "empty"
        return out

    # -- reading ----------------------------------------------------------------------------------------------
    def _scan(self, spec: TableSpec, partition: str | None, columns: list[str] | None = None,
              row_filter=None) -> pa.Table:
        table = self._table(spec)
        wanted = columns or spec.column_names
        target = spec.arrow()  # the pandas metadata gives readers the dtypes a local file gives (nullable ints)
        schema = pa.schema([target.field(c) for c in wanted]).with_metadata(_pandas_metadata(spec))
        snapshot = self._snapshot_id(spec, table)
        if snapshot is None:
            return schema.empty_table()
        order = self._order(spec)
        stored = {f.name for f in table.schema().fields}  # a nullable column the contract added later: nulls
        reader, tasks = self._arrow_scan(spec, table.scan(
            row_filter=self._where(spec, partition, row_filter),
            selected_fields=tuple(c for c in dict.fromkeys(wanted + order) if c in stored), snapshot_id=snapshot))
        got = _sorted(reader.to_table(tasks), order)
        for name in wanted:
            if name not in got.schema.names:
                got = got.append_column(schema.field(name), pa.nulls(len(got), schema.field(name).type))
        return got.select(wanted).cast(schema)

    def read(self, spec: TableSpec, partition: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        return self._scan(spec, partition, columns).to_pandas()

    def read_where(self, spec: TableSpec, partition: str, column: str, value) -> pd.DataFrame:
        from pyiceberg.expressions import EqualTo
        return self._scan(spec, partition, row_filter=EqualTo(column, value)).to_pandas()

    def read_recent(self, spec: TableSpec, column: str, since, columns: list[str]) -> pd.DataFrame:
        """Rows whose ``column`` (a timestamp) is at or after ``since``: the files' column statistics prune the rest."""
        from pyiceberg.expressions import GreaterThanOrEqual
        return self._scan(spec, None, columns,
                          row_filter=GreaterThanOrEqual(column, since.isoformat())).to_pandas()

    def iter_rows(self, spec: TableSpec, partition: str, batch_size: int = 8):
        tasks = self._tasks(spec, partition)
        if any(t.delete_files for t in tasks):  # deletes to apply: through Iceberg's reader
            yield from self.read(spec, partition).to_dict("records")
            return
        # the data files themselves, a few rows at a time (a day of page bodies never sits in memory at once)
        schema, fs = self._dataset_schema(spec), self._filesystem()
        for task in sorted(tasks, key=lambda t: t.file.file_path):
            data = pads.dataset([_fs_path(task.file.file_path)], schema=schema, format="parquet", filesystem=fs)
            for batch in data.to_batches(columns=spec.column_names, batch_size=batch_size):
                yield from batch.to_pylist()

    def file_columns(self, spec: TableSpec, partition: str) -> dict[str, list[str]]:
        table = self._table(spec)
        if table is None:
            return {}
        hidden = set(it.iceberg_schema(spec).names) - set(spec.column_names)
        return {f"iceberg:{spec.qualified}": [f.name for f in table.schema().fields if f.name not in hidden]}

    def datasets(self, specs: Iterable[TableSpec]) -> dict[str, pads.Dataset]:
        """Qualified name -> a pyarrow dataset over the files of the table's current snapshot (contract columns,
        plus ``scrape_date`` where only Iceberg has it), for DuckDB to scan lazily."""
        out = {}
        fs = self._filesystem()
        for spec in specs:
            schema = self._dataset_schema(spec)
            table = self._table(spec)
            tasks = self._tasks(spec, table=table)
            if any(t.delete_files for t in tasks):  # merge-on-read deletes: let Iceberg apply them
                reader, checked = self._arrow_scan(spec, table.scan(snapshot_id=self._snapshot_id(spec, table)))
                rows = reader.to_table(checked)
                out[spec.qualified] = rows.select(schema.names).cast(schema)
                continue
            paths = [_fs_path(t.file.file_path) for t in tasks]
            out[spec.qualified] = pads.dataset(paths, schema=schema, format="parquet", filesystem=fs)
        return out

    @staticmethod
    def _dataset_schema(spec: TableSpec) -> pa.Schema:
        schema = it.iceberg_schema(spec)
        return schema.remove(schema.get_field_index(it.RUN_FILE)) if it.RUN_FILE in schema.names else schema

    def snapshot_tables(self, as_of_ms: int | None = None) -> dict[str, pa.Table]:
        """Every existing table's rows (contract columns) at its current snapshot, or at the one current at
        ``as_of_ms`` (a table created later reads as empty): ``songnodes sql --iceberg / --as-of``."""
        from .schemas import ALL_TABLES

        out = {}
        for spec in ALL_TABLES.values():
            table = self._table(spec)
            if table is None:
                continue
            snap = table.current_snapshot() if as_of_ms is None else \
                it._whole_commit(table, table.snapshot_as_of_timestamp(as_of_ms))
            if snap is None:
                created = int(table.properties.get(it.CREATED_PROPERTY, "0") or 0)
                if as_of_ms is not None and table.metadata.snapshots and created and as_of_ms >= created:
                    oldest = dt.datetime.fromtimestamp(table.metadata.snapshots[0].timestamp_ms / 1000, dt.timezone.utc)
                    raise ValueError(f"{spec.qualified}: no snapshot as of that time is kept (the oldest is from "
                                     f"{oldest.isoformat(timespec='seconds')}; SONGNODES_ICEBERG_KEEP_DAYS="
                                     f"{self.cfg.keep_days:g} sets how far back history is kept)")
                out[spec.qualified] = spec.arrow().empty_table()
                continue
            out[spec.qualified] = self.pinned({spec.qualified: snap.snapshot_id})._scan(spec, None) \
                .replace_schema_metadata(None)
        return out

    def _filesystem(self):
        from pyarrow import fs as pafs

        if not self.cfg.warehouse.startswith("s3://"):
            return pafs.LocalFileSystem()
        endpoint = self.cfg.s3_endpoint
        opts = {"region": self.cfg.s3_region} if self.cfg.s3_region else {}
        if endpoint:
            parts = urlsplit(endpoint)
            opts.update(endpoint_override=parts.netloc or endpoint, scheme=parts.scheme or "https")
        return pafs.S3FileSystem(**opts)

    # -- writing ----------------------------------------------------------------------------------------------
    def stage(self, spec: TableSpec, batches, partition: str, file_name: str = SILVER_FILE) -> IcebergStaged:
        return self._stage_iceberg(spec, batches, partition, file_name)

    def stage_single(self, spec: TableSpec, batches) -> IcebergStaged:
        if not spec.single_file:
            raise ValueError(f"{spec.qualified} is partitioned: use write / write_batches")
        return self._stage_iceberg(spec, batches, None, spec.single_file)

    def _stage_iceberg(self, spec, batches, partition, file_name) -> IcebergStaged:
        _sweep_stale_staging()
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
        local = self._stage_into(spec, batches, staging, file_name)
        return IcebergStaged(local.tmp, local.final, spec, partition, file_name)

    def publish(self, staged: list) -> list[str]:
        """Commit each staged table, one Iceberg commit each, back to back; returns ``<table>@<snapshot id>``."""
        out = []
        for s in staged:
            if self._file_commit_fits(s):
                snapshot = self._commit_added(s, self._upload(s))  # the upload, the slow part, before the lock
            else:
                snapshot = self._commit(s.spec, pq.read_table(s.tmp), s.partition, s.file_name)
            s.tmp.unlink(missing_ok=True)
            out.append(f"iceberg:{s.spec.qualified}@{snapshot}")
        return out

    def expire_history(self, table, now: float | None = None) -> int:
        """Expire the table's snapshots older than ``keep_days`` (never the current one), once their oldest is a
        day past it: the metadata every commit and read parses then holds about ``keep_days`` of history, not all
        of it. Time travel (``--as-of``) reaches back that far. Returns how many were expired."""
        import time

        keep = self.cfg.keep_days
        snapshots = table.metadata.snapshots
        if keep <= 0 or len(snapshots) < 2:
            return 0
        now = time.time() if now is None else now
        cutoff_ms = (now - keep * 86400) * 1000
        if snapshots[0].timestamp_ms >= cutoff_ms - 86400_000:
            return 0
        current = table.current_snapshot().snapshot_id  # a branch head: never expired
        old = [s.snapshot_id for s in snapshots if s.timestamp_ms < cutoff_ms and s.snapshot_id != current]
        table.maintenance.expire_snapshots().older_than(dt.datetime.fromtimestamp(cutoff_ms / 1000, dt.timezone.utc)) \
            .commit()
        return len(old)

    @staticmethod
    def _file_commit_fits(s: IcebergStaged) -> bool:
        """The staged file can become the partition's data file as it is: its rows carry every column of the
        Iceberg table (not bronze/ops, whose run_file Iceberg adds; not a table lacking scrape_date) and it has rows."""
        if s.spec.layer in it.APPEND_LAYERS:
            return False
        if s.partition is not None and it.PARTITION_COLUMN not in s.spec.column_names:
            return False
        return pq.ParquetFile(s.tmp).metadata.num_rows > 0

    def _upload(self, s: IcebergStaged) -> str:
        """Copy the staged, validated file into the table's data folder (streamed: the partition is never loaded
        into memory); returns its URI. Not referenced by any snapshot until ``_commit_added``."""
        import uuid

        from pyarrow import fs as pafs

        table = self._table(s.spec, create=True)
        folder = f"scrape_date={s.partition}/" if s.partition is not None else ""
        dest = f"{table.location().rstrip('/')}/data/{folder}{uuid.uuid4().hex}-staged.parquet"
        target = self._filesystem()
        target.create_dir(_fs_path(dest).rsplit("/", 1)[0], recursive=True)
        pafs.copy_files(str(s.tmp), _fs_path(dest), source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=target)
        return dest

    def _commit_added(self, s: IcebergStaged, dest: str) -> int:
        """Commit the uploaded file in place of the partition's rows: one commit (delete + add)."""
        spec, partition = s.spec, s.partition
        try:
            with self.commit_lock(), _quiet_first_delete():
                table = self._table(spec)
                tx = table.transaction()
                tx.delete(it._partition_filter(partition), snapshot_properties=_snapshot_props(spec, partition))
                tx.add_files([dest], snapshot_properties=_snapshot_props(spec, partition), check_duplicate_files=False)
                self._mark_empty(tx, table, spec, partition, empty=False)
                return self._committed(spec, tx.commit_transaction())
        except BaseException:
            with contextlib.suppress(OSError):
                self._filesystem().delete_file(_fs_path(dest))  # not referenced by any snapshot: nothing lost
            raise

    def discard(self, staged: list) -> None:
        for s in staged:
            s.tmp.unlink(missing_ok=True)
            try:
                s.tmp.parent.rmdir()
            except OSError:
                pass

    def _commit(self, spec: TableSpec, rows: pa.Table, partition: str | None, file_name: str | None) -> int:
        """A staged batch's rows in place of the partition's (append-only tables: of this run file's)."""
        from pyiceberg.expressions import And, EqualTo

        rows = it.with_partition_column(spec, rows, partition)
        where = it._partition_filter(partition)
        if spec.layer in it.APPEND_LAYERS:
            rows = rows.append_column(it.RUN_FILE, pa.array([file_name] * len(rows), pa.string()))
            where = And(where, EqualTo(it.RUN_FILE, file_name))
        return self.overwrite(spec, rows, partition, where)

    def overwrite(self, spec: TableSpec, rows: pa.Table, partition: str | None, where=None) -> int:
        """``rows`` (the Iceberg table's columns) in place of those ``where`` selects (default: the partition's):
        one commit under the commit lock, the empty-partition marker set or cleared in it. Returns the snapshot."""
        target = it.iceberg_schema(spec)
        rows = rows.select(target.names).cast(target).replace_schema_metadata(None)
        where = it._partition_filter(partition) if where is None else where
        with self.commit_lock(), _quiet_first_delete():
            table = self._table(spec, create=True)
            tx = table.transaction()
            tx.overwrite(rows, overwrite_filter=where, snapshot_properties=_snapshot_props(spec, partition))
            self._mark_empty(tx, table, spec, partition, empty=not len(rows))
            return self._committed(spec, tx.commit_transaction())

    @staticmethod
    def _mark_empty(tx, table, spec: TableSpec, partition: str | None, empty: bool) -> None:
        """The partition's empty marker, a key of its own per date (a commit retried after a concurrent one
        replays only its own key, never a stale list of other dates); append-only tables have none."""
        if partition is None or spec.layer in it.APPEND_LAYERS:
            return
        marker = f"{EMPTY_PREFIX}{partition}"
        if empty:
            tx.set_properties({marker: "1"})
        elif marker in table.properties:
            tx.remove_properties(marker)

    def _committed(self, spec: TableSpec, committed) -> int:
        """The snapshot this commit made, from the table it returned (a reload could show another writer's)."""
        snapshot = committed.current_snapshot().snapshot_id
        self.last_snapshots[spec.qualified] = snapshot
        self.expire_history(committed)
        return snapshot

    def partition_rows(self, spec: TableSpec, partition: str | None) -> pa.Table:
        """The partition's rows as stored: every column of the Iceberg table (``run_file`` and the added
        ``scrape_date`` included), in the folder layout's order; for the import's comparison."""
        table = self._table(spec)
        schema = it.iceberg_schema(spec)
        snapshot = self._snapshot_id(spec, table)
        if snapshot is None:
            return schema.empty_table()
        reader, tasks = self._arrow_scan(spec, table.scan(row_filter=self._where(spec, partition),
                                                          snapshot_id=snapshot))
        got = _sorted(reader.to_table(tasks), self._order(spec))
        return got.select(schema.names).cast(schema).replace_schema_metadata(None)


def _sorted(rows: pa.Table, order: list[str]) -> pa.Table:
    return rows.sort_by([(c, "ascending") for c in order]) if order and len(rows) else rows


def _snapshot_props(spec: TableSpec, partition: str | None) -> dict:
    return {"songnodes.partition": partition or "", "songnodes.table": spec.qualified}


@contextlib.contextmanager
def _quiet_first_delete():
    """pyiceberg warns "Delete operation did not match any records" on a partition's first write."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Delete operation did not match")
        yield


STAGING_PREFIX = "songnodes-iceberg-stage-"


def _sweep_stale_staging(max_age_s: float = 3600) -> None:
    """Remove staging folders a killed writer left in the temp folder (old enough not to belong to a live one)."""
    import shutil
    import time

    cutoff = time.time() - max_age_s
    for leftover in Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass


def _fs_path(uri: str) -> str:
    """A data file URI as pyarrow's filesystems name it (``s3://b/k`` -> ``b/k``, ``file:///p`` -> ``/p``)."""
    if uri.startswith("file://"):
        return urlsplit(uri).path
    if uri.startswith("s3://") or uri.startswith("s3a://"):
        return uri.split("://", 1)[1]
    return uri


TABLE_FORMATS = ("parquet", "iceberg")


def table_format_from_env() -> str:
    """SONGNODES_TABLE_FORMAT: ``parquet`` (default: a folder of parquet files) or ``iceberg``."""
    from ..settings import env_str

    fmt = env_str("SONGNODES_TABLE_FORMAT", "parquet").strip().lower() or "parquet"
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"SONGNODES_TABLE_FORMAT={fmt!r}: one of {', '.join(TABLE_FORMATS)}")
    return fmt


def open_lake(root, table_format: str | None = None, cfg: it.IcebergConfig | None = None) -> Lakehouse:
    """The lakehouse of the configured table format (SONGNODES_TABLE_FORMAT; Iceberg settings as
    ``IcebergConfig.from_env`` unless given)."""
    fmt = table_format or table_format_from_env()
    if fmt == "parquet":
        return Lakehouse(root)
    if fmt == "iceberg":
        return IcebergLakehouse(root, cfg or it.IcebergConfig.from_env(root))
    raise ValueError(f"table format {fmt!r}: one of {', '.join(TABLE_FORMATS)}")
