"""Read-only counts over the lake's night-partitioned parquet datasets, with pyarrow (no Spark needed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

__all__ = ["has_files", "read_columns", "read_rows", "rows_per_night"]

_PARTITIONING = ds.partitioning(pa.schema([("night", pa.string())]), flavor="hive")


def has_files(path: Path) -> bool:
    return path.is_dir() and any(path.glob("night=*/*.parquet"))


def _dataset(path: Path) -> ds.Dataset | None:
    if not has_files(path):
        return None
    # `_staging/` (an unfinished batch) is skipped: pyarrow ignores names starting with "_" or ".".
    return ds.dataset(str(path), format="parquet", partitioning=_PARTITIONING)


def read_columns(path: Path, columns: Sequence[str], night: str | None = None) -> pa.Table:
    """The given columns (nested ones as `struct.field`), optionally for one night only."""
    dataset = _dataset(path)
    if dataset is None:
        return pa.table({c.replace(".", "_"): pa.array([], pa.null()) for c in columns})
    projection = {c.replace(".", "_"): ds.field(*c.split(".")) for c in columns}
    flt = ds.field("night") == night if night else None
    return dataset.to_table(columns=projection, filter=flt)


def read_rows(path: Path, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Every row as a nested dict, with those of the top-level `columns` the dataset has (night as text)."""
    dataset = _dataset(path)
    if dataset is None:
        return []
    names = [c for c in columns if c in dataset.schema.names]
    return dataset.to_table(columns=names).to_pylist()


def rows_per_night(path: Path) -> dict[str, int]:
    dataset = _dataset(path)
    if dataset is None:
        return {}
    nights = dataset.to_table(columns=["night"]).column("night")
    return dict(sorted(Counter(pc.cast(nights, pa.string()).to_pylist()).items()))
