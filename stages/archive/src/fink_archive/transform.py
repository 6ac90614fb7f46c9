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
from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from fink_archive.layout import SALT_BUCKETS, ZTF_LAYOUT, SurveyLayout
from fink_archive.plans import (
    ALERT_KEY,
    HISTORY_COLUMNS,
    HISTORY_POINTS,
    JD_KEY,
    MAIN_KEY,
    OBJECT_KEY,
    PIXEL_KEY,
    TIME_KEY,
    VERSION_COLUMN,
    Cell,
    cutout_plan,
    has_column,
    history_plan,
    index_plan,
    keyed_schema,
    main_plan,
    plan_types,
    point_fields,
)
from fink_archive.statistics import statistics_types
from fink_archive.tables import (
    KEY_SEP,
    UNNAMED_SSO,
    ArchiveTables,
    jd_key,
    pixel_key,
    sky_pixels,
)
from fink_common.errors import SchemaError

__all__ = [
    "TableRule",
    "archive_cells",
    "check_key_columns",
    "class_index_cells",
    "cutout_cells",
    "has_key",
    "history_cells",
    "jd_keys",
    "latest_tables",
    "main_cells",
    "pixel_index_cells",
    "rows_of",
    "salt_of",
    "schema_cells",
    "sso_index_cells",
    "sso_name",
    "time_index_cells",
    "with_keys",
]

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


def check_key_columns(schema: T.StructType, layout: SurveyLayout) -> None:
    """A clear error if the science alerts lack a column the archive keys on (both paths call it)."""
    needed = (*layout.object_columns[:1], layout.alert_column, layout.time_column, "night")
    missing = [p for p in needed if not has_column(schema, p)]
    if missing:
        raise SchemaError(f"the {layout.survey} science alerts lack the column(s) the archive keys on: {', '.join(missing)}")


def with_keys(df: DataFrame, version: str, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """The alerts plus their key parts (object, alert id, time, jd key, pixel, main rowkey) and the version.

    An alert with a null object, alert id or time has no usable key (`has_key` is false): every table
    leaves it out, and the sink reports how many there were.
    """
    check_key_columns(df.schema, layout)
    objects = [F.col(c).cast("string") for c in layout.object_columns if has_column(df.schema, c)]
    if has_column(df.schema, layout.ra_column) and has_column(df.schema, layout.dec_column):
        pixel = _pixel_keys(F.col(layout.ra_column), F.col(layout.dec_column))
    else:
        pixel = F.lit(None).cast("string")
    keyed = df.withColumns(
        {
            OBJECT_KEY: F.coalesce(*objects),
            ALERT_KEY: F.col(layout.alert_column),
            TIME_KEY: F.col(layout.time_column).cast("double"),
            VERSION_COLUMN: F.lit(version),
        }
    )
    keyed = keyed.withColumns({JD_KEY: _jd_keys(F.col(TIME_KEY)), PIXEL_KEY: pixel})
    head = [salt_of(F.col(OBJECT_KEY))] if layout.salted else []
    return keyed.withColumn(MAIN_KEY, F.concat_ws(KEY_SEP, *head, OBJECT_KEY, JD_KEY, F.col(ALERT_KEY).cast("string")))


def has_key() -> Column:
    """True for a keyed alert that has every key part (`concat_ws` skips nulls, so check the parts)."""
    return F.col(OBJECT_KEY).isNotNull() & F.col(ALERT_KEY).isNotNull() & F.col(JD_KEY).isNotNull()


def _keyed(df: DataFrame) -> DataFrame:
    return df.where(has_key())


# ------------------------------------------------------------------------------------------------ plans
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
    return rows_of(_keyed(keyed), F.col(MAIN_KEY), main_plan(keyed.schema, layout))


def cutout_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    return rows_of(_keyed(keyed), F.col(MAIN_KEY), cutout_plan(keyed.schema, layout))


def _index_key(*head: Column) -> Column:
    return F.concat_ws(KEY_SEP, *head, F.col(JD_KEY), F.col(OBJECT_KEY), F.col(ALERT_KEY).cast("string"))


def class_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`classification_time_object_alert`, for every alert that has a classification."""
    plan = index_plan(keyed.schema, layout)
    if "classification" not in keyed.columns:
        return _none(keyed, plan)
    rows = _keyed(keyed).where(F.col("classification").isNotNull())
    return rows_of(rows, _index_key(F.col("classification")), plan)


def pixel_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`pixel_time_object_alert`, for every alert with a position."""
    rows = _keyed(keyed).where(F.col(PIXEL_KEY).isNotNull())
    return rows_of(rows, _index_key(F.col(PIXEL_KEY)), index_plan(keyed.schema, layout))


def time_index_cells(keyed: DataFrame, layout: SurveyLayout = ZTF_LAYOUT) -> DataFrame:
    """`time_object_alert` (salted: `salt(alert)_time_object_alert`), for every alert."""
    head = [salt_of(F.col(ALERT_KEY))] if layout.salted else []
    return rows_of(_keyed(keyed), _index_key(*head), index_plan(keyed.schema, layout))


def sso_name(keyed: DataFrame, layout: SurveyLayout) -> Column:
    """The first of the layout's name columns that names something (ZTF writes the string "null")."""
    names = []
    for path in layout.sso_name_paths:
        if has_column(keyed.schema, path):
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
    names = [f.name for f in point_fields(keyed.schema)]
    if not names:
        return _none(keyed, plan)
    history = F.col(HISTORY_COLUMNS[0])
    rows = _keyed(keyed).where(F.size(history) > 0)  # size is -1 for a null history
    rows = rows.withColumn(HISTORY_POINTS, F.transform(history, lambda p: F.struct(*[p[n].alias(n) for n in names])))
    return rows_of(rows, F.col(MAIN_KEY), plan)


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




def schema_cells(schema: T.StructType, tables: ArchiveTables) -> dict[str, dict[bytes, bytes]]:
    """Table -> the cells of its schema row ({b"family:qualifier": b"<Spark type name>"}).

    `schema` is the input's (the science alerts); the archive version column is added as `with_keys` does.
    """
    layout = tables.layout
    keyed = keyed_schema(schema)
    index = plan_types(index_plan(keyed, layout))
    out = {tables.main: plan_types(main_plan(keyed, layout)), tables.cutouts: plan_types(cutout_plan(keyed, layout))}
    out.update({name: dict(index) for name in tables.indexes})
    for name, suffix in zip(tables.extra, layout.extra_tables, strict=True):
        out[name] = plan_types(_extra(suffix)[1](keyed, layout))
    out[tables.statistics] = {k.encode(): v.encode() for k, v in statistics_types(layout).items()}
    return out
