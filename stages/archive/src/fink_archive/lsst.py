"""The Rubin/LSST tables of the archive beyond the common ones (main, cutouts, indexes, statistics):

- `lsst.sources`: one row per detection, the alert's `diaSource` and each of its `prvDiaSources`, keyed
  `salt(object)_object_mjd_diaSourceId` (object = the alert's). A detection seen in many alerts is one row:
  a prefix scan of `salt(object)_object_` is the object's light curve, in time order.
- `lsst.forced`: one row per forced-photometry point (`prvDiaForcedSources`), keyed
  `salt(diaObjectId)_diaObjectId_mjd_diaForcedSourceId`.
- `lsst.objects`: the latest `diaObject` of each static object, keyed `salt(diaObjectId)_diaObjectId`. The
  latest is the one of the alert with the largest (midpointMjdTai, diaSourceId), written as sortable text in
  `i:latest`: the writer keeps, per object, the largest among the batch's alerts and the stored row
  (`store.newer_rows`), so a replay or an old alert arriving late changes nothing.
- `lsst.sso`: one row per solar-system alert, keyed `salt(ssObjectId)_ssObjectId_mjd_diaSourceId`: the
  `ssSource` flattened, the designation and the detection's time, position, band and flux.

Each table is a pair (cells, plan): the cells of a batch, and the plan they follow, from which the schema row
is written (`transform.schema_cells`).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fink_archive.layout import SurveyLayout
from fink_archive.plans import ALERT_KEY, JD_KEY, OBJECT_KEY, TIME_KEY, Cell, column_type
from fink_archive.tables import KEY_SEP
from fink_archive.transform import TableRule, has_key, jd_keys, rows_of, salt_of, sso_name

__all__ = [
    "LATEST_CELL",
    "LATEST_TABLES",
    "TABLE_RULES",
    "forced_cells",
    "forced_plan",
    "object_cells",
    "object_plan",
    "source_cells",
    "source_plan",
    "sso_cells",
    "sso_plan",
]

#: The order cell of `lsst.objects`: `<mjd key>_<diaSourceId on 20 digits>` of the alert that carried it.
LATEST_CELL = b"i:latest"
#: The latest-wins tables (suffixes).
LATEST_TABLES = frozenset({"objects"})

_ROW = "__row"  # the struct of one row of an exploded table (a detection, a forced point, an object)
#: Detection fields copied into each `lsst.sso` row.
SSO_DETECTION_FIELDS = ("midpointMjdTai", "ra", "dec", "band", "psfFlux", "psfFluxErr", "snr", "trailLength")


def _struct(schema: T.StructType, path: str) -> T.StructType | None:
    """The struct at `path`, or the struct items of the array there."""
    node = column_type(schema, path)
    if isinstance(node, T.ArrayType):
        node = node.elementType
    return node if isinstance(node, T.StructType) else None


def _flat(struct: T.StructType | None, prefix: str, taken: set[str]) -> list[Cell]:
    """`i:<field>` for each field of `struct`, read at `<prefix>.<field>`, except the qualifiers taken."""
    if struct is None:
        return []
    return [Cell(f"i:{f.name}", f"{prefix}.{f.name}", f.dataType) for f in struct.fields if f.name not in taken]


def _key(*parts: Column) -> Column:
    return F.concat_ws(KEY_SEP, *parts)


def _time_key(row_struct: str) -> Column:
    return jd_keys(F.col(f"{row_struct}.midpointMjdTai").cast("double"))


# -------------------------------------------------------------------------------------------- sources


def source_plan(schema: T.StructType, layout: SurveyLayout) -> list[Cell]:
    """`i:object` (the alert's object id) and every field of a detection."""
    return [Cell("i:object", OBJECT_KEY, T.StringType()), *_flat(_struct(schema, layout.detection), _ROW, {"object"})]


def source_cells(keyed: DataFrame, layout: SurveyLayout) -> DataFrame:
    rows = keyed.where(has_key())
    own = rows.select(OBJECT_KEY, F.col(layout.detection).alias(_ROW))
    if "prvDiaSources" in keyed.columns:
        own = own.unionByName(rows.select(OBJECT_KEY, F.explode("prvDiaSources").alias(_ROW)))
    own = own.withColumn(JD_KEY, _time_key(_ROW)).where(F.col(JD_KEY).isNotNull() & F.col(f"{_ROW}.diaSourceId").isNotNull())
    key = _key(salt_of(F.col(OBJECT_KEY)), F.col(OBJECT_KEY), F.col(JD_KEY), F.col(f"{_ROW}.diaSourceId").cast("string"))
    return rows_of(own, key, source_plan(keyed.schema, layout))


# --------------------------------------------------------------------------------------------- forced


def forced_plan(schema: T.StructType, layout: SurveyLayout) -> list[Cell]:
    return [Cell("i:object", OBJECT_KEY, T.StringType()), *_flat(_struct(schema, "prvDiaForcedSources"), _ROW, {"object"})]


def forced_cells(keyed: DataFrame, layout: SurveyLayout) -> DataFrame:
    plan = forced_plan(keyed.schema, layout)
    if "prvDiaForcedSources" not in keyed.columns:
        return rows_of(keyed.where(F.lit(False)), F.lit(""), plan)
    points = keyed.where(has_key()).select(F.explode("prvDiaForcedSources").alias(_ROW), F.col(OBJECT_KEY).alias("__alert_object"))
    points = points.withColumn(OBJECT_KEY, F.coalesce(F.col(f"{_ROW}.diaObjectId").cast("string"), F.col("__alert_object")))
    points = points.withColumn(JD_KEY, _time_key(_ROW)).where(
        F.col(JD_KEY).isNotNull() & F.col(f"{_ROW}.diaForcedSourceId").isNotNull()
    )
    key = _key(salt_of(F.col(OBJECT_KEY)), F.col(OBJECT_KEY), F.col(JD_KEY), F.col(f"{_ROW}.diaForcedSourceId").cast("string"))
    return rows_of(points, key, plan)


# -------------------------------------------------------------------------------------------- objects


def object_plan(schema: T.StructType, layout: SurveyLayout) -> list[Cell]:
    """`i:diaObjectId`, the diaObject's fields, and the alert that carried it: diaSourceId, its time, `latest`."""
    head = [
        Cell("i:diaObjectId", "diaObjectId", T.LongType()),
        Cell("i:diaSourceId", ALERT_KEY, T.LongType()),
        Cell("i:midpointMjdTai", TIME_KEY, T.DoubleType()),
        Cell(LATEST_CELL.decode(), "__latest", T.StringType()),
    ]
    return [*head, *_flat(_struct(schema, "diaObject"), "diaObject", {c.name[2:] for c in head})]


def object_cells(keyed: DataFrame, layout: SurveyLayout) -> DataFrame:
    plan = object_plan(keyed.schema, layout)
    if "diaObject" not in keyed.columns:
        return rows_of(keyed.where(F.lit(False)), F.lit(""), plan)
    # One candidate row per alert; the writer keeps, per object, the one with the largest `i:latest` among the
    # batch's candidates and the stored row (`store.newer_rows`). Hashing the rows by key puts all of one
    # object's candidates in one writer task; no sort, no aggregate of whole diaObjects.
    rows = keyed.where(has_key() & F.col("diaObject").isNotNull() & F.col("diaObjectId").isNotNull())
    order = F.concat(F.col(JD_KEY), F.lit(KEY_SEP), F.lpad(F.col(ALERT_KEY).cast("string"), 20, "0"))
    key = _key(salt_of(F.col("diaObjectId")), F.col("diaObjectId").cast("string"))
    return rows_of(rows.withColumn("__latest", order), key, plan).repartition("rowkey")


# ------------------------------------------------------------------------------------------------ sso


def _sso_id() -> Column:
    return F.coalesce(F.col("ssObjectId"), F.col("ssSource.ssObjectId"))


def sso_plan(schema: T.StructType, layout: SurveyLayout) -> list[Cell]:
    """ssObjectId, diaSourceId, the designation, night, the detection's `SSO_DETECTION_FIELDS`, `ssSource.*`."""
    head = [
        Cell("i:ssObjectId", "__sso_id", T.LongType()),
        Cell("i:diaSourceId", ALERT_KEY, T.LongType()),
        Cell("i:designation", "__designation", T.StringType()),
        Cell("i:night", "night", T.StringType()),
    ]
    detection = _struct(schema, layout.detection)
    wanted = [f for f in SSO_DETECTION_FIELDS if detection is not None and f in detection.fieldNames()]
    head += [Cell(f"i:{f}", f"{layout.detection}.{f}", detection[f].dataType) for f in wanted] if detection else []
    return [*head, *_flat(_struct(schema, "ssSource"), "ssSource", {c.name[2:] for c in head})]


def sso_cells(keyed: DataFrame, layout: SurveyLayout) -> DataFrame:
    plan = sso_plan(keyed.schema, layout)
    if "ssSource" not in keyed.columns:
        return rows_of(keyed.where(F.lit(False)).withColumns({"__sso_id": F.lit(None), "__designation": F.lit(None)}), F.lit(""), plan)
    rows = keyed.where(has_key() & F.col("ssSource").isNotNull())
    rows = rows.withColumns({"__sso_id": _sso_id(), "__designation": sso_name(keyed, layout)}).where(F.col("__sso_id").isNotNull())
    key = _key(salt_of(F.col("__sso_id")), F.col("__sso_id").cast("string"), F.col(JD_KEY), F.col(ALERT_KEY).cast("string"))
    return rows_of(rows, key, plan)


#: Suffix -> (cells, plan) of each LSST table of its own.
TABLE_RULES: dict[str, TableRule] = {
    "sources": (source_cells, source_plan),
    "forced": (forced_cells, forced_plan),
    "objects": (object_cells, object_plan),
    "sso": (sso_cells, sso_plan),
}
