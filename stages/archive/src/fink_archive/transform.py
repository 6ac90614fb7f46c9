"""Pure DataFrame -> DataFrame steps of the archive: rowkeys, then the cells of every table.

`with_keys` adds the rowkey parts to a batch of science alerts. Each `*_cells` function then returns
`(rowkey string, cells map<string, binary>)` for one table, the map going from `family:qualifier` to the
cell bytes, null values left out (HBase has no null: a missing cell is a null). `archive_cells` is the
union of all tables with a `table` column: one DataFrame that the sink writes partition by partition.

The jd part of the keys and the sky pixel are computed in pandas UDFs by the functions of
`fink_archive.tables`, the very functions a reader uses, so that writer and reader never disagree on a
key (Spark's own float formatting rounds differently from Python's in the last digit).

Which column goes where (`main_plan`, `cutout_plan`, `index_plan`) is decided from the input schema;
the same plans give the schema rows (`schema_cells`), so the recorded types always match the cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from fink_archive.statistics import STATISTICS_TYPES
from fink_archive.tables import (
    HISTORY_POINT_COLUMNS,
    INDEX_COLUMNS,
    KEY_SEP,
    UNNAMED_SSO,
    ArchiveTables,
    jd_key,
    pixel_key,
    sky_pixels,
)
from fink_common.errors import SchemaError

__all__ = [
    "CUTOUT_COLUMNS",
    "HISTORY_COLUMNS",
    "REQUIRED_COLUMNS",
    "SURVEY_COLUMNS",
    "Cell",
    "archive_cells",
    "class_index_cells",
    "cutout_cells",
    "cutout_plan",
    "has_key",
    "history_cells",
    "history_plan",
    "index_plan",
    "main_cells",
    "main_plan",
    "pixel_index_cells",
    "schema_cells",
    "sso_index_cells",
    "time_index_cells",
    "with_keys",
]

#: Top-level alert fields archived in family `i` of the main table (with `candidate.*` and `*_version`).
SURVEY_COLUMNS = ("objectId", "candid", "schemavsn", "publisher")
#: History arrays: not in the main table (an object's alerts are the prefix scan of its rows); the points of
#: `prv_candidates` go to the history table, one row per alert (`history_cells`).
HISTORY_COLUMNS = ("prv_candidates", "fp_hists")
#: Cutout structs {fileName, stampData}: their bytes go to the cutouts table only.
CUTOUT_COLUMNS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")
REQUIRED_COLUMNS = ("objectId", "candid", "candidate.jd", "night")

# Helper columns added by `with_keys` (a double underscore keeps them out of every plan).
_JD = "__jd_key"
_MAIN = "__main_key"
_PIXEL = "__pixel_key"
_HISTORY = "__history"
_VERSION = "archive_version"
_ISO = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"


@dataclass(frozen=True)
class Cell:
    """One column of a table: `family:qualifier`, the source column path and its Spark type."""

    name: str
    path: str
    dtype: T.DataType

    def value(self) -> Column:
        """The cell bytes (null stays null)."""
        col = F.col(self.path)
        if isinstance(self.dtype, T.BinaryType):
            return col
        if isinstance(self.dtype, T.StringType):
            text = col
        elif isinstance(self.dtype, T.TimestampType):
            text = F.date_format(col, _ISO)
        elif isinstance(self.dtype, T.StructType | T.ArrayType | T.MapType):
            text = F.to_json(col, {"ignoreNullFields": "false"})
        else:
            text = col.cast("string")
        return text.cast("binary")


# ------------------------------------------------------------------------------------------------- keys


@pandas_udf(T.StringType())  # type: ignore[call-overload]
def _jd_keys(jd: pd.Series) -> pd.Series:
    return pd.Series([None if pd.isna(v) else jd_key(float(v)) for v in jd], dtype=object)


@pandas_udf(T.StringType())  # type: ignore[call-overload]
def _pixel_keys(ra: pd.Series, dec: pd.Series) -> pd.Series:
    pixels = sky_pixels(ra.to_numpy(dtype=np.float64, na_value=np.nan), dec.to_numpy(dtype=np.float64, na_value=np.nan))
    return pd.Series([pixel_key(int(p)) if p >= 0 else None for p in pixels], dtype=object)


def _check(df: DataFrame) -> None:
    names = set(df.columns)
    candidate = df.schema["candidate"].dataType if "candidate" in names else None
    subfields = set(candidate.fieldNames()) if isinstance(candidate, T.StructType) else set()
    missing = [p for p in REQUIRED_COLUMNS if (p[len("candidate.") :] not in subfields if "." in p else p not in names)]
    if missing:
        raise SchemaError(f"the science alerts lack the column(s) the archive keys on: {', '.join(missing)}")


def with_keys(df: DataFrame, version: str) -> DataFrame:
    """The alerts plus their main rowkey, jd and pixel key parts, and the archive version.

    An alert with a null objectId, candid or jd has no usable key (`has_key` is false): every table
    leaves it out, and the sink reports how many there were.
    """
    _check(df)
    subfields = set(df.schema["candidate"].dataType.fieldNames())
    if {"ra", "dec"} <= subfields:
        pixel = _pixel_keys(F.col("candidate.ra"), F.col("candidate.dec"))
    else:
        pixel = F.lit(None).cast("string")
    keyed = df.withColumns({_JD: _jd_keys(F.col("candidate.jd")), _PIXEL: pixel, _VERSION: F.lit(version)})
    return keyed.withColumn(_MAIN, F.concat_ws(KEY_SEP, "objectId", _JD, F.col("candid").cast("string")))


def has_key() -> Column:
    """True for a keyed alert that has every key part (`concat_ws` skips nulls, so check the parts)."""
    return F.col("objectId").isNotNull() & F.col("candid").isNotNull() & F.col(_JD).isNotNull()


def _keyed(df: DataFrame) -> DataFrame:
    return df.where(has_key())


# ------------------------------------------------------------------------------------------------ plans


def _fields(schema: T.StructType) -> dict[str, T.DataType]:
    return {f.name: f.dataType for f in schema.fields}


def main_plan(schema: T.StructType) -> list[Cell]:
    """Family `i`: the survey's fields (candidate.* flattened) and every `*_version`; family `d`: the rest."""
    fields = _fields(schema)
    cells = [Cell(f"i:{name}", name, fields[name]) for name in SURVEY_COLUMNS[:2] if name in fields]
    candidate = fields.get("candidate")
    if isinstance(candidate, T.StructType):
        taken = {c.name for c in cells}
        for sub in candidate.fields:
            if f"i:{sub.name}" not in taken:  # candidate.candid repeats the top-level candid
                cells.append(Cell(f"i:{sub.name}", f"candidate.{sub.name}", sub.dataType))
    cells += [Cell(f"i:{name}", name, fields[name]) for name in SURVEY_COLUMNS[2:] if name in fields]
    cells += [Cell(f"i:{name}", name, kind) for name, kind in fields.items() if name.endswith("_version")]
    skipped = {*SURVEY_COLUMNS, *HISTORY_COLUMNS, *CUTOUT_COLUMNS, "candidate"}
    for name, kind in fields.items():
        if name not in skipped and not name.endswith("_version") and not name.startswith("__"):
            cells.append(Cell(f"d:{name}", name, kind))
    qualifiers = [c.name.split(":", 1)[1] for c in cells]
    clashes = sorted({q for q in qualifiers if qualifiers.count(q) > 1})
    if clashes:
        raise SchemaError(f"columns archived twice in the main table (families i and d): {clashes}")
    return cells


def cutout_plan(schema: T.StructType) -> list[Cell]:
    """Family `i`: objectId, candid, jd; family `b`: the bytes of each cutout."""
    fields = _fields(schema)
    cells = [Cell("i:objectId", "objectId", T.StringType()), Cell("i:candid", "candid", fields["candid"])]
    cells.append(Cell("i:jd", "candidate.jd", T.DoubleType()))
    for name in CUTOUT_COLUMNS:
        kind = fields.get(name)
        if isinstance(kind, T.StructType) and "stampData" in kind.fieldNames():
            cells.append(Cell(f"b:{name}", f"{name}.stampData", T.BinaryType()))
    return cells


def index_plan(schema: T.StructType) -> list[Cell]:
    """The columns of every index row (`INDEX_COLUMNS` the input has) and the main rowkey."""
    fields = _fields(schema)
    cells = []
    for qualifier, path in INDEX_COLUMNS:
        top, _, sub = path.partition(".")
        kind = fields.get(top)
        if sub and isinstance(kind, T.StructType) and sub in kind.fieldNames():
            cells.append(Cell(f"i:{qualifier}", path, kind[sub].dataType))
        elif not sub and kind is not None:
            cells.append(Cell(f"i:{qualifier}", path, kind))
    cells.append(Cell("i:main_rowkey", _MAIN, T.StringType()))
    return cells


def _history_item(schema: T.StructType) -> T.StructType | None:
    kind = _fields(schema).get(HISTORY_COLUMNS[0])
    if isinstance(kind, T.ArrayType) and isinstance(kind.elementType, T.StructType):
        return kind.elementType
    return None


def _point_fields(schema: T.StructType) -> list[T.StructField]:
    """The `HISTORY_POINT_COLUMNS` that a history point (`prv_candidates` item) has (none without jd)."""
    item = _history_item(schema)
    if item is None or "jd" not in item.fieldNames():
        return []
    return [item[n] for n in HISTORY_POINT_COLUMNS if n in item.fieldNames()]


def history_plan(schema: T.StructType) -> list[Cell]:
    """Family `i`: objectId, candid, the alert's jd, and `points` (its history cut to `_point_fields`)."""
    fields = _fields(schema)
    cells = [Cell("i:objectId", "objectId", T.StringType()), Cell("i:candid", "candid", fields["candid"])]
    cells.append(Cell("i:jd", "candidate.jd", T.DoubleType()))
    points = _point_fields(schema)
    if points:
        cells.append(Cell("i:points", _HISTORY, T.ArrayType(T.StructType([*points]))))
    return cells


# ------------------------------------------------------------------------------------------------ cells


def _cells(plan: Sequence[Cell]) -> Column:
    entries = [item for cell in plan for item in (F.lit(cell.name), cell.value())]
    return F.map_filter(F.create_map(*entries), lambda _k, v: v.isNotNull())


def _rows(df: DataFrame, key: Column, plan: Sequence[Cell]) -> DataFrame:
    return df.select(key.alias("rowkey"), _cells(plan).alias("cells"))


def main_cells(keyed: DataFrame) -> DataFrame:
    return _rows(_keyed(keyed), F.col(_MAIN), main_plan(keyed.schema))


def cutout_cells(keyed: DataFrame) -> DataFrame:
    return _rows(_keyed(keyed), F.col(_MAIN), cutout_plan(keyed.schema))


def _index_key(*head: Column) -> Column:
    return F.concat_ws(KEY_SEP, *head, F.col(_JD), F.col("objectId"), F.col("candid").cast("string"))


def class_index_cells(keyed: DataFrame) -> DataFrame:
    """`classification_jd_objectId_candid`, for every alert that has a classification."""
    if "classification" not in keyed.columns:
        return _rows(keyed.where(F.lit(False)), F.lit(""), index_plan(keyed.schema))
    rows = _keyed(keyed).where(F.col("classification").isNotNull())
    return _rows(rows, _index_key(F.col("classification")), index_plan(keyed.schema))


def pixel_index_cells(keyed: DataFrame) -> DataFrame:
    """`pixel_jd_objectId_candid`, for every alert with a position."""
    rows = _keyed(keyed).where(F.col(_PIXEL).isNotNull())
    return _rows(rows, _index_key(F.col(_PIXEL)), index_plan(keyed.schema))


def time_index_cells(keyed: DataFrame) -> DataFrame:
    """`jd_objectId_candid`, for every alert (one row per main-table row)."""
    return _rows(_keyed(keyed), _index_key(), index_plan(keyed.schema))


def _sso_name(keyed: DataFrame) -> Column:
    """candidate.ssnamenr when it names something (ZTF writes the string "null" for no name)."""
    if "ssnamenr" not in keyed.schema["candidate"].dataType.fieldNames():
        return F.lit(None).cast("string")
    name = F.trim(F.col("candidate.ssnamenr"))
    return F.when(name.isNotNull() & ~F.lower(name).isin("", "null", "none", "nan"), name)


def sso_index_cells(keyed: DataFrame) -> DataFrame:
    """`ssnamenr_jd_objectId_candid`, for alerts with roid 3 or a ssnamenr (`UNNAMED_SSO` if roid 3 alone)."""
    name = _sso_name(keyed)
    wanted = name.isNotNull()
    if "roid" in keyed.columns:
        wanted = wanted | (F.col("roid") == 3)
    rows = _keyed(keyed).where(wanted)
    return _rows(rows, _index_key(F.coalesce(name, F.lit(UNNAMED_SSO))), index_plan(keyed.schema))


def history_cells(keyed: DataFrame) -> DataFrame:
    """`objectId_jd_candid`, one row per alert with a history: its points as one JSON array cell."""
    plan = history_plan(keyed.schema)
    names = [f.name for f in _point_fields(keyed.schema)]
    if not names:
        return _rows(keyed.where(F.lit(False)), F.lit(""), plan)
    history = F.col(HISTORY_COLUMNS[0])
    rows = _keyed(keyed).where(F.size(history) > 0)  # size is -1 for a null history
    rows = rows.withColumn(_HISTORY, F.transform(history, lambda p: F.struct(*[p[n].alias(n) for n in names])))
    return _rows(rows, F.col(_MAIN), plan)


def archive_cells(keyed: DataFrame, tables: ArchiveTables) -> DataFrame:
    """Every table's rows in one DataFrame: (table, rowkey, cells)."""
    parts = [
        (tables.main, main_cells(keyed)),
        (tables.cutouts, cutout_cells(keyed)),
        (tables.by_class, class_index_cells(keyed)),
        (tables.by_pixel, pixel_index_cells(keyed)),
        (tables.by_time, time_index_cells(keyed)),
        (tables.by_sso, sso_index_cells(keyed)),
        (tables.history, history_cells(keyed)),
    ]
    frames = [rows.select(F.lit(name).alias("table"), "rowkey", "cells") for name, rows in parts]
    return reduce(DataFrame.unionByName, frames)


# ----------------------------------------------------------------------------------------- schema rows


def _types(plan: Sequence[Cell]) -> dict[bytes, bytes]:
    return {c.name.encode(): c.dtype.simpleString().encode() for c in plan}


def schema_cells(schema: T.StructType, tables: ArchiveTables) -> dict[str, dict[bytes, bytes]]:
    """Table -> the cells of its schema row ({b"family:qualifier": b"<Spark type name>"}).

    `schema` is the input's (the science alerts); the archive version column is added as `with_keys` does.
    """
    keyed = T.StructType(
        [*schema.fields, T.StructField(_VERSION, T.StringType()), T.StructField(_MAIN, T.StringType())]
    )
    index = _types(index_plan(keyed))
    out = {tables.main: _types(main_plan(keyed)), tables.cutouts: _types(cutout_plan(keyed))}
    out.update({name: dict(index) for name in tables.indexes})
    out[tables.history] = _types(history_plan(keyed))
    out[tables.statistics] = {k.encode(): v.encode() for k, v in STATISTICS_TYPES.items()}
    return out
