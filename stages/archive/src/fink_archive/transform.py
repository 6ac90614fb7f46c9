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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from fink_archive.layout import SALT_BUCKETS, ZTF_LAYOUT, SurveyLayout
from fink_archive.statistics import statistics_types
from fink_archive.tables import (
    HISTORY_POINT_COLUMNS,
    KEY_SEP,
    UNNAMED_SSO,
    ArchiveTables,
    jd_key,
    pixel_key,
    sky_pixels,
)
from fink_common.errors import SchemaError

__all__ = [
    "HISTORY_COLUMNS",
    "Cell",
    "TableRule",
    "archive_cells",
    "class_index_cells",
    "cutout_cells",
    "cutout_plan",
    "detection_plan",
    "has_key",
    "history_cells",
    "history_plan",
    "index_plan",
    "jd_keys",
    "latest_tables",
    "main_cells",
    "main_plan",
    "pixel_index_cells",
    "rows_of",
    "salt_of",
    "schema_cells",
    "sso_index_cells",
    "sso_name",
    "time_index_cells",
    "with_keys",
]

#: ZTF history arrays: the points of `prv_candidates` go to the history table, one row per alert.
HISTORY_COLUMNS = ZTF_LAYOUT.history_columns

# Helper columns added by `with_keys` (a double underscore keeps them out of every plan).
_OBJECT = "__object"
_ALERT = "__alert"
_TIME = "__time"
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


def jd_keys(time: Column) -> Column:
    """The key text of a time column (`tables.jd_key`, computed in Python as a reader does)."""
    return _jd_keys(time)


@pandas_udf(T.StringType())  # type: ignore[call-overload]
def _pixel_keys(ra: pd.Series, dec: pd.Series) -> pd.Series:
    pixels = sky_pixels(ra.to_numpy(dtype=np.float64, na_value=np.nan), dec.to_numpy(dtype=np.float64, na_value=np.nan))
    return pd.Series([pixel_key(int(p)) if p >= 0 else None for p in pixels], dtype=object)


def salt_of(id_column: Column) -> Column:
    """`layout.salt` in Spark: the id modulo `SALT_BUCKETS` on two digits."""
    return F.lpad(F.pmod(id_column.cast("long"), F.lit(SALT_BUCKETS)).cast("string"), 2, "0")


def _has(schema: T.StructType, path: str) -> bool:
    node: T.DataType = schema
    for part in path.split("."):
        if not isinstance(node, T.StructType) or part not in node.fieldNames():
            return False
        node = node[part].dataType
    return True


def _check(df: DataFrame, layout: SurveyLayout) -> None:
    needed = (*layout.object_columns[:1], layout.alert_column, layout.time_column, "night")
    missing = [p for p in needed if not _has(df.schema, p)]
    if missing:
        raise SchemaError(f"the {layout.survey} science alerts lack the column(s) the archive keys on: {', '.join(missing)}")


def with_keys(df: DataFrame, version: str, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """The alerts plus their key parts (object, alert id, time, jd key, pixel, main rowkey) and the version.

    An alert with a null object, alert id or time has no usable key (`has_key` is false): every table
    leaves it out, and the sink reports how many there were.
    """
    _check(df, layout)
    objects = [F.col(c).cast("string") for c in layout.object_columns if _has(df.schema, c)]
    if _has(df.schema, layout.ra_column) and _has(df.schema, layout.dec_column):
        pixel = _pixel_keys(F.col(layout.ra_column), F.col(layout.dec_column))
    else:
        pixel = F.lit(None).cast("string")
    keyed = df.withColumns(
        {
            _OBJECT: F.coalesce(*objects),
            _ALERT: F.col(layout.alert_column),
            _TIME: F.col(layout.time_column).cast("double"),
            _VERSION: F.lit(version),
        }
    )
    keyed = keyed.withColumns({_JD: _jd_keys(F.col(_TIME)), _PIXEL: pixel})
    head = [salt_of(F.col(_OBJECT))] if layout.salted else []
    return keyed.withColumn(_MAIN, F.concat_ws(KEY_SEP, *head, _OBJECT, _JD, F.col(_ALERT).cast("string")))


def has_key() -> Column:
    """True for a keyed alert that has every key part (`concat_ws` skips nulls, so check the parts)."""
    return F.col(_OBJECT).isNotNull() & F.col(_ALERT).isNotNull() & F.col(_JD).isNotNull()


def _keyed(df: DataFrame) -> DataFrame:
    return df.where(has_key())


# ------------------------------------------------------------------------------------------------ plans


def _fields(schema: T.StructType) -> dict[str, T.DataType]:
    return {f.name: f.dataType for f in schema.fields}


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _cell_at(schema: T.StructType, qualifier: str, path: str, family: str = "i") -> Cell | None:
    """The cell `family:qualifier` of the column at `path` (a top-level name or `struct.field`), if any."""
    node: T.DataType = schema
    for part in path.split("."):
        if not isinstance(node, T.StructType) or part not in node.fieldNames():
            return None
        node = node[part].dataType
    return Cell(f"{family}:{qualifier}", path, node)


def detection_plan(schema: T.StructType, struct: str, taken: set[str] | frozenset[str] = frozenset()) -> list[Cell]:
    """Family `i`: every field of the struct column `struct`, flattened (fields named in `taken` skipped)."""
    kind = _fields(schema).get(struct)
    if not isinstance(kind, T.StructType):
        return []
    return [Cell(f"i:{f.name}", f"{struct}.{f.name}", f.dataType) for f in kind.fields if f.name not in taken]


def main_plan(schema: T.StructType, layout: SurveyLayout = ZTF_LAYOUT) -> list[Cell]:
    """Family `i`: the ids, the detection (ZTF `candidate`, LSST `diaSource`) flattened, the survey's tail
    columns and every `*_version`; family `d`: the rest (histories and cutouts go to their own tables)."""
    fields = _fields(schema)
    cells = [Cell(f"i:{name}", name, fields[name]) for name in layout.id_columns if name in fields]
    # a detection field repeating a top-level id (candidate.candid; diaSource.diaObjectId, whose 0 sentinel
    # the top-level clear id replaces, Rubin's value staying in the raw archive) is not archived twice
    cells += detection_plan(schema, layout.detection, {c.name[2:] for c in cells})
    cells += [Cell(f"i:{name}", name, fields[name]) for name in layout.tail_columns if name in fields]
    cells += [
        Cell(f"i:{name}", name, kind)
        for name, kind in fields.items()
        if name.endswith("_version") and name not in layout.tail_columns
    ]
    skipped = {*layout.id_columns, *layout.tail_columns, *layout.history_columns, *layout.cutout_columns, layout.detection}
    for name, kind in fields.items():
        if name not in skipped and not name.endswith("_version") and not name.startswith("__"):
            cells.append(Cell(f"d:{name}", name, kind))
    qualifiers = [c.name.split(":", 1)[1] for c in cells]
    clashes = sorted({q for q in qualifiers if qualifiers.count(q) > 1})
    if clashes:
        raise SchemaError(f"columns archived twice in the main table (families i and d): {clashes}")
    return cells


def _head_plan(schema: T.StructType, layout: SurveyLayout) -> list[Cell]:
    """The ids and the time of an alert, as `i:` cells (the head of the cutouts and history rows)."""
    fields = _fields(schema)
    cells = [Cell(f"i:{name}", name, fields[name]) for name in layout.id_columns if name in fields]
    return [*cells, Cell(f"i:{_leaf(layout.time_column)}", layout.time_column, T.DoubleType())]


def cutout_plan(schema: T.StructType, layout: SurveyLayout = ZTF_LAYOUT) -> list[Cell]:
    """Family `i`: the ids and the time; family `b`: the bytes of each cutout (ZTF: a struct's stampData;
    LSST: the binary column itself)."""
    fields = _fields(schema)
    cells = _head_plan(schema, layout)
    for name in layout.cutout_columns:
        kind = fields.get(name)
        if isinstance(kind, T.StructType) and "stampData" in kind.fieldNames():
            cells.append(Cell(f"b:{name}", f"{name}.stampData", T.BinaryType()))
        elif isinstance(kind, T.BinaryType):
            cells.append(Cell(f"b:{name}", name, T.BinaryType()))
    return cells


def index_plan(schema: T.StructType, layout: SurveyLayout = ZTF_LAYOUT) -> list[Cell]:
    """The columns of every index row (the layout's index columns the input has) and the main rowkey."""
    cells = [_cell_at(schema, qualifier, path) for qualifier, path in layout.index_columns]
    return [*(c for c in cells if c is not None), Cell("i:main_rowkey", _MAIN, T.StringType())]


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


def history_plan(schema: T.StructType, layout: SurveyLayout = ZTF_LAYOUT) -> list[Cell]:
    """Family `i`: objectId, candid, the alert's jd, and `points` (its history cut to `_point_fields`)."""
    cells = _head_plan(schema, layout)
    points = _point_fields(schema)
    if points:
        cells.append(Cell("i:points", _HISTORY, T.ArrayType(T.StructType([*points]))))
    return cells


# ------------------------------------------------------------------------------------------------ cells


def _cells(plan: Sequence[Cell]) -> Column:
    entries = [item for cell in plan for item in (F.lit(cell.name), cell.value())]
    return F.map_filter(F.create_map(*entries), lambda _k, v: v.isNotNull())


def rows_of(df: DataFrame, key: Column, plan: Sequence[Cell]) -> DataFrame:
    """(rowkey, cells) of each row of `df`."""
    return df.select(key.alias("rowkey"), _cells(plan).alias("cells"))


def _none(keyed: DataFrame, plan: Sequence[Cell]) -> DataFrame:
    return rows_of(keyed.where(F.lit(False)), F.lit(""), plan)


def main_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    return rows_of(_keyed(keyed), F.col(_MAIN), main_plan(keyed.schema, layout))


def cutout_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    return rows_of(_keyed(keyed), F.col(_MAIN), cutout_plan(keyed.schema, layout))


def _index_key(*head: Column) -> Column:
    return F.concat_ws(KEY_SEP, *head, F.col(_JD), F.col(_OBJECT), F.col(_ALERT).cast("string"))


def class_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`classification_time_object_alert`, for every alert that has a classification."""
    plan = index_plan(keyed.schema, layout)
    if "classification" not in keyed.columns:
        return _none(keyed, plan)
    rows = _keyed(keyed).where(F.col("classification").isNotNull())
    return rows_of(rows, _index_key(F.col("classification")), plan)


def pixel_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`pixel_time_object_alert`, for every alert with a position."""
    rows = _keyed(keyed).where(F.col(_PIXEL).isNotNull())
    return rows_of(rows, _index_key(F.col(_PIXEL)), index_plan(keyed.schema, layout))


def time_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`time_object_alert` (salted: `salt(alert)_time_object_alert`), for every alert."""
    head = [salt_of(F.col(_ALERT))] if layout.salted else []
    return rows_of(_keyed(keyed), _index_key(*head), index_plan(keyed.schema, layout))


def sso_name(keyed: DataFrame, layout: SurveyLayout) -> Column:
    """The first of the layout's name columns that names something (ZTF writes the string "null")."""
    names = []
    for path in layout.sso_name_paths:
        if _has(keyed.schema, path):
            name = F.trim(F.col(path))
            names.append(F.when(name.isNotNull() & ~F.lower(name).isin("", "null", "none", "nan"), name))
    return F.coalesce(*names) if names else F.lit(None).cast("string")


def sso_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`name_time_object_alert`, for the solar-system alerts: ZTF those with a ssnamenr or roid 3
    (`UNNAMED_SSO` without a name); LSST those with a designation or a ssObjectId (the id without a name)."""
    name = sso_name(keyed, layout)
    wanted = name.isNotNull()
    fallback = [F.lit(UNNAMED_SSO)]
    if layout.sso_id_column and layout.sso_id_column in keyed.columns:
        sso_id = F.col(layout.sso_id_column)
        wanted, fallback = wanted | sso_id.isNotNull(), [sso_id.cast("string")]
    if layout.sso_flag and layout.sso_flag[0] in keyed.columns:
        wanted = wanted | (F.col(layout.sso_flag[0]) == layout.sso_flag[1])
    rows = _keyed(keyed).where(wanted)
    return rows_of(rows, _index_key(F.coalesce(name, *fallback)), index_plan(keyed.schema, layout))


def history_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`objectId_jd_candid`, one row per alert with a history: its points as one JSON array cell."""
    plan = history_plan(keyed.schema, layout)
    names = [f.name for f in _point_fields(keyed.schema)]
    if not names:
        return _none(keyed, plan)
    history = F.col(HISTORY_COLUMNS[0])
    rows = _keyed(keyed).where(F.size(history) > 0)  # size is -1 for a null history
    rows = rows.withColumn(_HISTORY, F.transform(history, lambda p: F.struct(*[p[n].alias(n) for n in names])))
    return rows_of(rows, F.col(_MAIN), plan)


#: A survey's own table: (its cells from the keyed alerts, its plan from the keyed schema).
TableRule = tuple[Callable[[DataFrame, SurveyLayout], DataFrame], Callable[[T.StructType, SurveyLayout], list[Cell]]]


def _extra(suffix: str) -> TableRule:
    """The rule of a survey's own table (`SurveyLayout.extra_tables`): ZTF's history here, LSST's in `lsst`."""
    from fink_archive import lsst  # lsst builds on this module's cells

    rules: dict[str, TableRule] = {"history": (history_cells, history_plan), **lsst.TABLE_RULES}
    return rules[suffix]


def archive_cells(keyed: DataFrame, tables: ArchiveTables) -> DataFrame:
    """Every table's rows in one DataFrame: (table, rowkey, cells)."""
    layout = tables.layout
    parts = [
        (tables.main, main_cells(keyed, layout)),
        (tables.cutouts, cutout_cells(keyed, layout)),
        (tables.by_class, class_index_cells(keyed, layout)),
        (tables.by_pixel, pixel_index_cells(keyed, layout)),
        (tables.by_time, time_index_cells(keyed, layout)),
        (tables.by_sso, sso_index_cells(keyed, layout)),
    ]
    parts += [(name, _extra(suffix)[0](keyed, layout)) for name, suffix in zip(tables.extra, layout.extra_tables, strict=True)]
    frames = [rows.select(F.lit(name).alias("table"), "rowkey", "cells") for name, rows in parts]
    return reduce(DataFrame.unionByName, frames)


def latest_tables(tables: ArchiveTables) -> dict[str, bytes]:
    """The latest-wins tables of the survey and their order cell (see `store.newer_rows`)."""
    from fink_archive import lsst

    return {name: lsst.LATEST_CELL for name, suffix in zip(tables.extra, tables.layout.extra_tables, strict=True)
            if suffix in lsst.LATEST_TABLES}  # fmt: skip


# ----------------------------------------------------------------------------------------- schema rows


def _types(plan: Sequence[Cell]) -> dict[bytes, bytes]:
    return {c.name.encode(): c.dtype.simpleString().encode() for c in plan}


def _keyed_schema(schema: T.StructType) -> T.StructType:
    """The schema `with_keys` gives (the helper columns the plans read)."""
    extra = [(_VERSION, T.StringType()), (_MAIN, T.StringType()), (_OBJECT, T.StringType())]
    return T.StructType([*schema.fields, *(T.StructField(n, t) for n, t in extra)])


def schema_cells(schema: T.StructType, tables: ArchiveTables) -> dict[str, dict[bytes, bytes]]:
    """Table -> the cells of its schema row ({b"family:qualifier": b"<Spark type name>"}).

    `schema` is the input's (the science alerts); the archive version column is added as `with_keys` does.
    """
    layout = tables.layout
    keyed = _keyed_schema(schema)
    index = _types(index_plan(keyed, layout))
    out = {tables.main: _types(main_plan(keyed, layout)), tables.cutouts: _types(cutout_plan(keyed, layout))}
    out.update({name: dict(index) for name in tables.indexes})
    for name, suffix in zip(tables.extra, layout.extra_tables, strict=True):
        out[name] = _types(_extra(suffix)[1](keyed, layout))
    out[tables.statistics] = {k.encode(): v.encode() for k, v in statistics_types(layout).items()}
    return out
