"""``songnodes`` command line: ``demo`` (the main job end to end, offline), ``parse`` and ``sql``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

MAX_INPUT_BYTES = 50 * 1024 * 1024
MAX_LINE_BYTES = 100_000


class InputError(Exception):
    pass


def _read_input(path: str) -> tuple[list[str], str]:
    """Read tracklist text; refuse binary, non-text and absurdly long input with a clear message."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
            name = "<stdin>"
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
            name = path
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: input larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB")
    if b"\x00" in data[:65536]:
        raise InputError(f"{name}: looks like a binary file (NUL bytes), expected tracklist text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") > max(10, len(text) // 20):
            raise InputError(f"{name}: not UTF-8 text (too many undecodable bytes)") from None
    lines = text.splitlines()
    for i, line in enumerate(lines, start=1):
        if len(line.encode("utf-8", errors="replace")) > MAX_LINE_BYTES:
            raise InputError(f"{name}: line {i} is longer than {MAX_LINE_BYTES} bytes; is this really a tracklist?")
    return lines, name


def cmd_parse(args: argparse.Namespace) -> int:
    """One JSON object per entry, every field of the parser's Entry (shallow), as compact UTF-8 JSON lines."""
    import gc

    import orjson

    from .lib.parsing.tracklist import Entry, entry_field_names, parse_tracklist

    lines, _ = _read_input(args.file)
    fields = entry_field_names()
    dumps, newline, refused = orjson.dumps, orjson.OPT_APPEND_NEWLINE, orjson.JSONEncodeError
    boundary = b'},{"' + fields[0].encode() + b'":'
    split = boundary.replace(b",", b"\n", 1)

    def row(entry) -> bytes:  # a subclass's extra fields stay out; what orjson refuses goes through json, escaped
        values = {f: getattr(entry, f) for f in fields}
        try:
            return dumps(values, option=newline)
        except refused:  # a lone surrogate, an int beyond 64 bits: nothing the input reader can produce today
            try:
                return (json.dumps(values, separators=(",", ":")) + "\n").encode("ascii")
            except (TypeError, ValueError) as exc:  # not a JSON value at all: name the line, no traceback
                raise InputError(f"line {values.get('line_no')}: the entry holds a value JSON cannot write "
                                 f"({exc})") from None

    # A one-shot process that holds every entry until it has written them: the cyclic collector would only
    # re-walk them (about a quarter of the parse time) and finds next to nothing to free (same peak memory).
    collecting = gc.isenabled()
    gc.disable()
    try:
        entries = parse_tracklist(lines)
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)  # None: a text-only stdout of an in-process caller
        write = buffer.write if buffer is not None else (lambda data: sys.stdout.write(str(data, "utf-8")))
        for i in range(0, len(entries), 2048):
            batch = entries[i:i + 2048]
            chunk = None
            if set(map(type, batch)) <= {Entry}:  # orjson writes a dataclass's fields itself, in declaration order
                try:
                    chunk = dumps(batch)  # one call: [{"line_no":…},{"line_no":…}], compact
                except refused:
                    pass
            # Inside a JSON string every " is escaped, so `},{"line_no":` outside one is where an entry ends and
            # the next begins; the count proves no other match (a nested object a field might hold one day).
            if chunk is not None and chunk.count(boundary) == len(batch) - 1:
                write(memoryview(chunk.replace(boundary, split))[1:-1])
                write(b"\n")
            else:
                write(b"".join(map(row, batch)))
        sys.stdout.flush()
    finally:
        if collecting:
            gc.enable()
    return 0


def open_lakehouse(flag: str | None, command: str, table_format: str | None = None):
    """The lakehouse a command reads: --lakehouse, else SONGNODES_LAKEHOUSE_ROOT, else ./.songnodes/lakehouse;
    when that is missing and the package runs from a checkout (editable install) that has a demo lakehouse, that
    one (said on stderr). A path that is missing or not a directory is an error naming it."""
    from .lib.iceberg_lakehouse import open_lake
    from .settings import Settings

    root = flag or Settings.from_env().lakehouse_root
    checkout = Path(__file__).resolve().parents[1] / ".songnodes" / "lakehouse"
    if not (flag or os.environ.get("SONGNODES_LAKEHOUSE_ROOT", "").strip()) and not Path(root).exists() \
            and checkout.is_dir() and (checkout.parent / "dagster_home").is_dir():
        print(f"songnodes {command}: no lakehouse in this directory; using the checkout's demo lakehouse {checkout}",
              file=sys.stderr)
        root = str(checkout)
    lake = open_lake(root, table_format)
    if lake.table_format == "iceberg":  # the tables are in the catalog; the folder holds only local caches
        return lake
    where = "--lakehouse PATH or SONGNODES_LAKEHOUSE_ROOT"
    if lake.root.exists() and not lake.root.is_dir():
        raise InputError(f"lakehouse root {lake.root} is not a directory (set {where})")
    if not lake.root.exists():
        raise InputError(f"no lakehouse at {lake.root}: run `make demo` in the repository first, or point {where} "
                         "at one")
    return lake


def cmd_sql(args: argparse.Namespace) -> int:
    from .lib.catalog import QueryRefused, connect, run_query
    from .lib.schemas import ALL_TABLES

    query = args.query
    if args.file:
        try:
            with open(args.file, encoding="utf-8") as fh:
                query = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not query or not query.strip():
        raise InputError("give a query or --file")
    snapshot = None
    if args.iceberg or args.as_of:
        root, snapshot = _iceberg_snapshot(args)
    else:
        lake = open_lakehouse(args.root, "sql")
        root = lake
        where = "--lakehouse PATH or SONGNODES_LAKEHOUSE_ROOT"
        if not any(lake.files(spec) for spec in ALL_TABLES.values()):
            held = "no parquet files" if lake.table_format == "parquet" else "no rows in any Iceberg table"
            print(f"songnodes sql: warning: the lakehouse at {lake.describe()} holds {held} yet (set {where} "
                  "for another one); every table is empty", file=sys.stderr)
    try:
        columns, rows = run_query(connect(root, snapshot=snapshot), query)
    except QueryRefused as exc:
        raise InputError(f"query refused: {exc}") from exc
    except Exception as exc:  # duckdb errors: show them plainly
        raise InputError(f"query failed: {exc}") from exc
    _print_rows(columns, rows, args.format)
    return 0


def _iceberg_snapshot(args: argparse.Namespace):
    """The Iceberg tables' rows (current, or as of --as-of) for ``songnodes sql --iceberg``."""
    from .lib.iceberg_tables import IcebergConfig, IcebergConfigError, open_catalog, resolve_as_of, snapshot_sources
    from .settings import Settings

    root = args.root or Settings.from_env().lakehouse_root
    try:
        cfg = IcebergConfig.from_env(root)
        catalog = open_catalog(cfg)
        as_of_ms = resolve_as_of(catalog, args.as_of) if args.as_of else None
        snapshot = snapshot_sources(catalog, as_of_ms)
    except (IcebergConfigError, ValueError) as exc:
        raise InputError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - catalog or store unreachable: say which
        raise InputError(f"cannot read the Iceberg tables ({cfg.where}): {type(exc).__name__}: {exc}") from exc
    if not snapshot:
        print(f"songnodes sql: warning: no Iceberg tables in {cfg.where} (run `songnodes iceberg-import`); every "
              "table is empty", file=sys.stderr)
    return root, snapshot


def cmd_iceberg_import(args: argparse.Namespace) -> int:
    """Copy the local lakehouse into its Iceberg tables (idempotent), comparing row counts."""
    from .lib.iceberg_tables import IcebergConfig, IcebergConfigError, import_lakehouse, open_catalog

    lake = open_lakehouse(args.root, "iceberg-import", table_format="parquet")  # the source is always the folder
    try:
        cfg = IcebergConfig.from_env(lake.root)
    except IcebergConfigError as exc:
        raise InputError(str(exc)) from exc
    print(f"songnodes iceberg-import: {lake.root} -> {cfg.where}", file=sys.stderr)
    try:
        results = import_lakehouse(lake, open_catalog(cfg))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    bad = [r.table for r in results if not r.counts_match]
    if bad:
        print(f"songnodes iceberg-import: row counts differ for {', '.join(bad)}", file=sys.stderr)
        return 1
    print(f"{sum(r.written for r in results)} partitions written, {sum(r.unchanged for r in results)} unchanged; "
          "row counts equal")
    return 0


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    def plain(v):
        if isinstance(v, (bytes, bytearray)):
            return f"<{len(v)} bytes>"
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return v

    if fmt == "json":
        for r in rows:
            sys.stdout.write(json.dumps({c: plain(v) for c, v in zip(columns, r)}, ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        for r in rows:
            w.writerow([plain(v) for v in r])
        sys.stdout.write(buf.getvalue())
    else:
        cells = [[str(plain(v)) if v is not None else "" for v in r] for r in rows]
        widths = [min(60, max([len(c)] + [len(row[i]) for row in cells])) for i, c in enumerate(columns)]
        sys.stdout.write(" | ".join(c.ljust(w) for c, w in zip(columns, widths)) + "\n")
        sys.stdout.write("-+-".join("-" * w for w in widths) + "\n")
        for row in cells:
            sys.stdout.write(" | ".join(v[:w].ljust(w) for v, w in zip(row, widths)) + "\n")
        sys.stdout.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def cmd_failed(args: argparse.Namespace) -> int:
    """List enrichment partitions that failed or hold retriable failures, with the command that repairs them."""
    import datetime as dt

    import dagster as dg

    from .defs.automation.retry import partitions_needing_repair
    from .lib.enrich.sources import SOURCES
    from .lib.iceberg_lakehouse import open_lake
    from .settings import Settings

    if not os.environ.get("DAGSTER_HOME"):
        raise InputError("set DAGSTER_HOME to the instance to inspect (e.g. .songnodes/dagster_home)")
    lake = open_lake(Settings.from_env().lakehouse_root)
    today = dt.datetime.now(dt.timezone.utc).date()
    found = False
    with dg.DagsterInstance.get() as instance:
        for source in SOURCES if not args.source else [args.source]:
            parts = partitions_needing_repair(instance, lake, source, today, args.days)
            if parts:
                found = True
                print(f"{source}: {', '.join(parts)}")
                print(f"  repair: dagster job backfill -w workspace.yaml -j enrich_{source} "
                      f"--partitions {','.join(sorted(parts))} --noprompt")
    if not found:
        print(f"no failed or retriable enrichment partitions in the last {args.days} days")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(partition=args.date, home=args.home)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="songnodes", description="SongNodes data platform")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the whole pipeline offline (bronze -> silver -> six enrichment sources -> "
                       "gold) against the bundled sample site and fake APIs")
    d.add_argument("--date", help="scrape date partition (default: today, UTC)")
    d.add_argument("--home", help="where the demo keeps its Dagster instance and lakehouse (default: ./.songnodes)")
    d.set_defaults(func=cmd_demo)
    pr = sub.add_parser("parse", help="parse tracklist text (one entry per line) to JSON lines")
    pr.add_argument("file", help="a text file, or - for stdin")
    pr.set_defaults(func=cmd_parse)
    f = sub.add_parser("failed-partitions", help="enrichment partitions to repair, with the backfill command")
    f.add_argument("--source", choices=["musicbrainz", "spotify", "lastfm", "discogs", "getsongbpm", "acousticbrainz"])
    f.add_argument("--days", type=int, default=14, help="look back this many days (default 14)")
    f.set_defaults(func=cmd_failed)
    s = sub.add_parser("sql", help="run a read-only query on the lakehouse (DuckDB)")
    s.add_argument("query", nargs="?", help='e.g. "SELECT * FROM silver.transitions ORDER BY weight DESC LIMIT 10"')
    s.add_argument("--file", help="read the query from a .sql file")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.add_argument("--lakehouse", "--root", dest="root", metavar="PATH",
                   help="lakehouse root (default: SONGNODES_LAKEHOUSE_ROOT, else ./.songnodes/lakehouse)")
    s.add_argument("--iceberg", action="store_true",
                   help="read the Iceberg tables (SONGNODES_ICEBERG_CATALOG / _WAREHOUSE) instead of the local files")
    s.add_argument("--as-of", metavar="SNAPSHOT|TIMESTAMP",
                   help="read the Iceberg tables as they were: a snapshot id or an ISO time (implies --iceberg)")
    s.set_defaults(func=cmd_sql)
    ice = sub.add_parser("iceberg-import", help="copy the local lakehouse into its Iceberg tables (idempotent; "
                         "row counts compared)")
    ice.add_argument("--lakehouse", "--root", dest="root", metavar="PATH",
                     help="lakehouse root (default: SONGNODES_LAKEHOUSE_ROOT, else ./.songnodes/lakehouse)")
    ice.set_defaults(func=cmd_iceberg_import)
    from .cli_ask import add_parsers

    add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"songnodes {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # configuration errors from Settings
        print(f"songnodes {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
