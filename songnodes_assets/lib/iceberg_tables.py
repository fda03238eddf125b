"""The lakehouse's tables as Apache Iceberg tables (pyiceberg, SQL catalog), and the import of a local lakehouse.

One Iceberg table per table contract, ``<layer>.<name>`` in the catalog, with the contract's columns and a daily
partition spec (identity on ``scrape_date``; a table whose rows have no such column gets it, from the folder its
file lies in). Unpartitioned tables (one file, e.g. gold's graph) stay unpartitioned. Writing a partition is one
Iceberg overwrite of that partition: one atomic snapshot, readers see the old or the new rows, never a mix.

The catalog is SQLite under ``.songnodes/iceberg/`` by default and any SQLAlchemy URL otherwise (PostgreSQL in
production: ``postgresql+psycopg2://user@host:5432/db``; the password comes from PGPASSWORD or .pgpass, never
from the URL). The warehouse is a local folder by default or an ``s3://bucket/prefix`` (endpoint and region from
SONGNODES_S3_ENDPOINT / SONGNODES_S3_REGION, credentials from the standard AWS variables, never stored).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from .lakehouse import Lakehouse
from ..settings import env_str
from .schemas import ALL_TABLES, TableSpec

PARTITION_COLUMN = "scrape_date"
RUN_FILE = "run_file"  # append-only tables (bronze, ops): the file a row came in, so a retried run replaces only its own rows
APPEND_LAYERS = ("bronze", "ops")
CREATED_PROPERTY = "songnodes.created_at_ms"  # when the table was made: older --as-of times read it as empty
# merged manifests and a bounded metadata log (old metadata files deleted): a commit's cost does not grow with
# the number of commits ever made (snapshots themselves are expired after keep_days)
TABLE_PROPERTIES = {"commit.manifest-merge.enabled": "true", "write.metadata.previous-versions-max": "20",
                    "write.metadata.delete-after-commit.enabled": "true"}
# Table properties pyiceberg lets override where it reads or writes, or with which credentials: a table carrying
# one (a tampered or foreign catalog) is refused, so only the configured warehouse and settings are ever used.
UNSAFE_PROPERTY_PREFIXES = ("s3.", "gcs.", "adls.", "oss.", "hf.", "client.", "py-io-impl", "write.data.path",
                            "write.metadata.path", "write.object-storage", "write.py-location-provider",
                            "write.location-provider")


def guard_table(table, warehouse_uri: str, qualified: str):
    """``table`` when its metadata and location are inside the warehouse and no property re-points its IO;
    else ContractViolation naming what is wrong (nothing of it is read or written)."""
    from .schemas import ContractViolation

    base = warehouse_uri.rstrip("/") + "/"
    for what, where in (("location", table.location()), ("metadata", table.metadata_location)):
        if not within(where, base):
            raise ContractViolation(f"{qualified}: its {what} {where} is outside the warehouse {warehouse_uri}: refused")
    unsafe = sorted(k for k in table.properties if k.lower().startswith(UNSAFE_PROPERTY_PREFIXES))
    if unsafe:
        raise ContractViolation(f"{qualified}: table properties {unsafe} would re-point its storage or credentials: "
                                "refused (set them on the catalog's settings, not on a table)")
    return table


def within(uri: str, base: str) -> bool:
    """``uri`` names something under ``base`` (both URIs; no ``..`` segment, no encoded escape)."""
    if uri.startswith("file:") and not uri.startswith("file://"):  # file:/p (no authority) as file:///p
        uri = "file://" + uri[len("file:"):]
    return uri.startswith(base) and "/../" not in uri and not uri.endswith("/..") and "%2e" not in uri.lower()


class IcebergConfigError(ValueError):
    """A catalog or warehouse setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class IcebergConfig:
    catalog_uri: str
    warehouse: str
    s3_endpoint: str | None = None
    s3_region: str | None = None
    keep_days: float = 30.0  # snapshots older than this are expired (SONGNODES_ICEBERG_KEEP_DAYS; 0 = keep all)

    @classmethod
    def from_env(cls, lakehouse_root: str | os.PathLike) -> "IcebergConfig":
        """SONGNODES_ICEBERG_CATALOG / _WAREHOUSE, else a SQLite catalog and a folder beside the lakehouse."""
        base = Path(lakehouse_root).expanduser().resolve().parent / "iceberg"
        uri = env_str("SONGNODES_ICEBERG_CATALOG", f"sqlite:///{base / 'catalog.db'}")
        warehouse = env_str("SONGNODES_ICEBERG_WAREHOUSE", str(base / "warehouse"))
        parts = urlsplit(uri)
        if parts.password or any(k.strip().lower() in ("password", "passwd") for k, _ in parse_qsl(parts.query)):
            raise IcebergConfigError("SONGNODES_ICEBERG_CATALOG holds a password: leave it out of the URL and use "
                                     "PGPASSWORD or ~/.pgpass (a password in a setting ends up in logs)")
        endpoint = env_str("SONGNODES_S3_ENDPOINT", "") or None
        if endpoint is not None:
            ep = urlsplit(endpoint)
            if ep.scheme not in ("http", "https") or not ep.hostname or ep.username or ep.password:
                raise IcebergConfigError(f"SONGNODES_S3_ENDPOINT={endpoint!r}: an http(s)://host[:port] URL without "
                                         "credentials (those come from the AWS variables)")
        if "://" in warehouse and not warehouse.startswith(("s3://", "file://")):
            raise IcebergConfigError(f"SONGNODES_ICEBERG_WAREHOUSE={warehouse!r}: a folder or an s3:// URI")
        raw_keep = env_str("SONGNODES_ICEBERG_KEEP_DAYS", "30")
        try:
            keep = float(raw_keep)
        except ValueError:
            keep = -1.0
        if not keep >= 0:
            raise IcebergConfigError(f"SONGNODES_ICEBERG_KEEP_DAYS={raw_keep!r}: a number of days >= 0 (0 keeps all)")
        return cls(uri, warehouse, endpoint, env_str("SONGNODES_S3_REGION", env_str("AWS_REGION", "")) or None, keep)

    @property
    def where(self) -> str:
        """The catalog and warehouse, for messages (a URL never carries a password here)."""
        return f"catalog {self.catalog_uri}, warehouse {self.warehouse}"


def open_catalog(cfg: IcebergConfig):
    from pyiceberg.catalog.sql import SqlCatalog

    props = {"uri": cfg.catalog_uri, "warehouse": _warehouse_uri(cfg.warehouse)}
    if cfg.catalog_uri.startswith("sqlite:///"):
        Path(cfg.catalog_uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if not cfg.warehouse.startswith("s3://"):
        Path(cfg.warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    if cfg.s3_endpoint:
        props["s3.endpoint"] = cfg.s3_endpoint
    if cfg.s3_region:
        props["s3.region"] = cfg.s3_region
    return SqlCatalog("songnodes", **props)


def _warehouse_uri(warehouse: str) -> str:
    """The warehouse as the URI pyiceberg writes under: ``file://`` + the absolute path *unencoded* (pyiceberg
    does not percent-decode, so ``Path.as_uri()`` would put a folder with a space somewhere else)."""
    return warehouse if "://" in warehouse else "file://" + Path(warehouse).resolve().as_posix()


def iceberg_schema(spec: TableSpec) -> pa.Schema:
    """The contract's arrow schema, plus the partition column when its rows do not carry one (and, in bronze,
    the name of the run file each row came in, in the append-only layers)."""
    schema = spec.arrow()
    if not spec.single_file and PARTITION_COLUMN not in schema.names:
        schema = schema.append(pa.field(PARTITION_COLUMN, pa.string(), nullable=False))
    if spec.layer in APPEND_LAYERS:
        schema = schema.append(pa.field(RUN_FILE, pa.string(), nullable=True))
    return schema


def row_group_properties(spec: TableSpec) -> dict:
    """The contract's row-group size (bronze: a few page bodies per group, so readers stream them)."""
    return {"write.parquet.row-group-limit": str(spec.row_group_rows)} if spec.row_group_rows else {}


def ensure_table(catalog, spec: TableSpec):
    """The contract's Iceberg table, created (with its namespace and daily partition spec) when missing."""
    from pyiceberg.transforms import IdentityTransform

    ident = (spec.layer, spec.name)
    catalog.create_namespace_if_not_exists(spec.layer)
    if catalog.table_exists(ident):
        table = catalog.load_table(ident)
        missing = [n for n in iceberg_schema(spec).names if n not in {f.name for f in table.schema().fields}]
        if missing:  # a nullable column added to the contract (or run_file) after the table was made
            with table.update_schema() as update:
                update.union_by_name(iceberg_schema(spec))
            table = catalog.load_table(ident)
            if table.metadata.name_mapping() is not None:  # files added by name (add_files) map the new column too
                with table.transaction() as tx:
                    tx.set_properties({"schema.name-mapping.default": table.schema().name_mapping.model_dump_json()})
                table = catalog.load_table(ident)
        return table
    # merged manifests: planning a day's read opens a bounded number of manifests, not one per commit ever made
    import time

    table = catalog.create_table(ident, schema=iceberg_schema(spec), properties={
        **TABLE_PROPERTIES, **row_group_properties(spec), CREATED_PROPERTY: str(int(time.time() * 1000))})
    if not spec.single_file:
        with table.update_spec() as update:
            update.add_field(PARTITION_COLUMN, IdentityTransform(), PARTITION_COLUMN)
        table = catalog.load_table(ident)
    return table


def _arrow_for(spec: TableSpec, lake: Lakehouse, partition: str | None) -> pa.Table:
    """A partition's (or an unpartitioned table's) rows as the Iceberg table's arrow schema, each file verified."""
    files = lake.files(spec, partition)
    if spec.layer in APPEND_LAYERS:  # each run file's rows with its name (a retried run replaces only its own rows)
        parts = [lake.read_arrow(spec, [f]).cast(spec.arrow()) for f in files]
        parts = [t.append_column(pa.field(RUN_FILE, pa.string()), pa.array([f.name] * len(t), pa.string()))
                 for t, f in zip(parts, files)]
        table = pa.concat_tables(parts) if parts else iceberg_schema(spec).empty_table()
    else:
        table = lake.read_arrow(spec, files).cast(spec.arrow())
    return with_partition_column(spec, table, partition).replace_schema_metadata(None)


def with_partition_column(spec: TableSpec, rows: pa.Table, partition: str | None) -> pa.Table:
    """``rows`` of one partition with its ``scrape_date`` column: added when the contract has none (ops.alerts),
    else checked: rows saying another date are refused, naming the partition, never moved silently."""
    if partition is None:
        return rows
    if PARTITION_COLUMN not in rows.schema.names:
        return rows.append_column(pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
                                  pa.array([partition] * len(rows), type=pa.string()))
    stray = pc.sum(pc.not_equal(rows[PARTITION_COLUMN], partition)).as_py() if len(rows) else 0
    if stray:
        raise ValueError(f"{spec.qualified} partition {partition}: {stray} rows have another {PARTITION_COLUMN}; "
                         "not written (fix or rebuild that partition first)")
    return rows


def _partition_filter(partition: str | None):
    """The rows of one daily partition, or every row of an unpartitioned table."""
    from pyiceberg.expressions import AlwaysTrue, EqualTo

    return EqualTo(PARTITION_COLUMN, partition) if partition is not None else AlwaysTrue()


@dataclass
class ImportedTable:
    table: str
    partitions: int
    written: int
    unchanged: int
    local_rows: int
    iceberg_rows: int

    @property
    def counts_match(self) -> bool:
        return self.local_rows == self.iceberg_rows


def import_lakehouse(lake: Lakehouse, catalog, specs: list[TableSpec] | None = None, log=print) -> list[ImportedTable]:
    """Copy every partition of every table of a local lakehouse into its Iceberg table, by the commit the assets
    use (``IcebergLakehouse.overwrite``). A partition whose Iceberg rows already equal the local ones is left alone
    (no new snapshot), so a re-run changes nothing; after each write the partition is read back and its row count
    compared."""
    target = lake_for(catalog)
    out = []
    for spec in specs or list(ALL_TABLES.values()):
        if not lake.files(spec):
            continue
        parts: list[str | None] = [None] if spec.single_file else lake.partitions(spec)
        result = ImportedTable(spec.qualified, len(parts), 0, 0, 0, 0)
        for partition in parts:
            local = _arrow_for(spec, lake, partition)
            current = target.partition_rows(spec, partition)
            if current.equals(local) and (len(local) or partition in target.partitions(spec)):
                result.unchanged += 1
            else:  # the assets' own commit: under the lock, an empty partition marked, history expired
                target.overwrite(spec, local, partition)
                current = target.partition_rows(spec, partition)
                result.written += 1
            result.local_rows += len(local)
            result.iceberg_rows += len(current)
        log(f"{spec.qualified}: {result.partitions} partitions ({result.written} written, {result.unchanged} "
            f"unchanged), {result.local_rows} rows local, {result.iceberg_rows} in Iceberg"
            + ("" if result.counts_match else "  <-- COUNTS DIFFER"))
        out.append(result)
    return out


def resolve_as_of(catalog, as_of: str) -> int:
    """``--as-of``: a snapshot id of any table (its commit time is used for every table) or an ISO timestamp
    (naive = UTC); the result is epoch milliseconds."""
    text = as_of.strip()
    if text.isdigit() and len(text) > 12:  # snapshot ids are 64-bit; a bare year or date is not one
        for spec in ALL_TABLES.values():
            ident = (spec.layer, spec.name)
            if catalog.table_exists(ident):
                snap = catalog.load_table(ident).snapshot_by_id(int(text))
                if snap is not None:
                    return snap.timestamp_ms
        raise ValueError(f"--as-of {text}: no table has a snapshot with that id")
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"--as-of {as_of!r}: give a snapshot id or an ISO timestamp (2026-12-01T17:00:00Z)") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp() * 1000)


def _whole_commit(table, snap):
    """An overwrite commits two snapshots at once (a delete, then the append): a time between them falls in a
    commit that was not visible yet, so it reads the state before that commit, never the half-done partition."""
    from pyiceberg.table.snapshots import Operation

    if snap is not None and snap.summary is not None and snap.summary.operation == Operation.DELETE \
            and "songnodes.partition" in snap.summary.additional_properties:
        return table.snapshot_by_id(snap.parent_snapshot_id) if snap.parent_snapshot_id is not None else None
    return snap


def snapshot_sources(catalog, as_of_ms: int | None = None) -> dict[str, pa.Table]:
    """Every existing table's rows at its current snapshot, or at the snapshot that was current at
    ``as_of_ms`` (a table created later reads as empty), in the contract's columns (the columns a table only
    has in Iceberg are dropped). Guarded and checked as every Iceberg read (``IcebergLakehouse``)."""
    return lake_for(catalog).snapshot_tables(as_of_ms)


def lake_for(catalog):
    """An ``IcebergLakehouse`` over an open catalog (its own warehouse and URI), for the import and ``--as-of``."""
    from .iceberg_lakehouse import IcebergLakehouse

    lake = IcebergLakehouse(Path("."), IcebergConfig(catalog.properties.get("uri", ""), catalog.properties["warehouse"]))
    lake._catalog = catalog
    return lake
