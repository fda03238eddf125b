"""Materialization metadata as the UI shows it: floats rounded (4 decimals; percentages carry 2), so a value
reads ``8.08`` rather than ``8.083333333333334``; anything else is passed through unchanged."""

import math


def tidy(metadata: dict, digits: int = 4) -> dict:
    out = {}
    for key, value in metadata.items():
        if isinstance(value, float) and math.isfinite(value):
            value = round(value, 2 if key.endswith("_pct") else digits)
        out[key] = value
    return out


def materialized(**kwargs):
    """``dg.MaterializeResult`` with tidy metadata."""
    import dagster as dg

    if kwargs.get("metadata"):
        kwargs["metadata"] = tidy(kwargs["metadata"])
    return dg.MaterializeResult(**kwargs)


def checked(**kwargs):
    """``dg.AssetCheckResult`` with tidy metadata."""
    import dagster as dg

    if kwargs.get("metadata"):
        kwargs["metadata"] = tidy(kwargs["metadata"])
    return dg.AssetCheckResult(**kwargs)


def table_kinds(*extra: str) -> set[str]:
    """The UI's kind tags of a table asset: its storage (``iceberg`` under SONGNODES_TABLE_FORMAT=iceberg, else
    ``parquet``) plus ``extra``."""
    from ..lib.iceberg_lakehouse import table_format_from_env

    return {"iceberg" if table_format_from_env() == "iceberg" else "parquet", *extra}
