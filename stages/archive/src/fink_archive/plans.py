"""Which column of the science alerts goes to which cell of which archive table, decided from the input schema.

A plan is the list of `Cell`s of one table: `family:qualifier`, the source column and its Spark type.
`fink_archive.transform` turns plans into rows; `plan_types` turns the same plans into the schema rows,
so that the recorded types always match the cells. The double-underscore helper columns that
`transform.with_keys` adds (`MAIN_KEY`, ...) are named here and kept out of every plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fink_archive.layout import ZTF_LAYOUT, SurveyLayout
from fink_archive.tables import HISTORY_POINT_COLUMNS
from fink_common.errors import SchemaError

__all__ = [
    "ALERT_KEY",
    "HISTORY_COLUMNS",
    "HISTORY_POINTS",
    "JD_KEY",
    "MAIN_KEY",
    "OBJECT_KEY",
    "PIXEL_KEY",
    "TIME_KEY",
    "VERSION_COLUMN",
    "Cell",
    "column_type",
    "cutout_plan",
    "detection_plan",
    "has_column",
    "history_plan",
    "index_plan",
    "keyed_schema",
    "main_plan",
    "plan_types",
    "point_fields",
]

#: ZTF history arrays: the points of `prv_candidates` go to the history table, one row per alert.
HISTORY_COLUMNS = ZTF_LAYOUT.history_columns

# Helper columns added by `with_keys` (a double underscore keeps them out of every plan).
OBJECT_KEY = "__object"
ALERT_KEY = "__alert"
TIME_KEY = "__time"
JD_KEY = "__jd_key"
MAIN_KEY = "__main_key"
PIXEL_KEY = "__pixel_key"
HISTORY_POINTS = "__history"
VERSION_COLUMN = "archive_version"
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


def _fields(schema: T.StructType) -> dict[str, T.DataType]:
    return {f.name: f.dataType for f in schema.fields}


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def column_type(schema: T.StructType, path: str) -> T.DataType | None:
    """The type of the column at `path` (a top-level name or `struct.field`), None if the schema lacks it."""
    node: T.DataType = schema
    for part in path.split("."):
        if not isinstance(node, T.StructType) or part not in node.fieldNames():
            return None
        node = node[part].dataType
    return node


def has_column(schema: T.StructType, path: str) -> bool:
    return column_type(schema, path) is not None


def _cell_at(schema: T.StructType, qualifier: str, path: str, family: str = "i") -> Cell | None:
    """The cell `family:qualifier` of the column at `path`, if the schema has it."""
    kind = column_type(schema, path)
    return None if kind is None else Cell(f"{family}:{qualifier}", path, kind)


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
    return [*(c for c in cells if c is not None), Cell("i:main_rowkey", MAIN_KEY, T.StringType())]


def _history_item(schema: T.StructType) -> T.StructType | None:
    kind = _fields(schema).get(HISTORY_COLUMNS[0])
    if isinstance(kind, T.ArrayType) and isinstance(kind.elementType, T.StructType):
        return kind.elementType
    return None


def point_fields(schema: T.StructType) -> list[T.StructField]:
    """The `HISTORY_POINT_COLUMNS` that a history point (`prv_candidates` item) has (none without jd)."""
    item = _history_item(schema)
    if item is None or "jd" not in item.fieldNames():
        return []
    return [item[n] for n in HISTORY_POINT_COLUMNS if n in item.fieldNames()]


def history_plan(schema: T.StructType, layout: SurveyLayout = ZTF_LAYOUT) -> list[Cell]:
    """Family `i`: objectId, candid, the alert's jd, and `points` (its history cut to `point_fields`)."""
    cells = _head_plan(schema, layout)
    points = point_fields(schema)
    if points:
        cells.append(Cell("i:points", HISTORY_POINTS, T.ArrayType(T.StructType([*points]))))
    return cells


def plan_types(plan: Sequence[Cell]) -> dict[bytes, bytes]:
    """The schema-row cells of a plan: {b"family:qualifier": b"<Spark type name>"}."""
    return {c.name.encode(): c.dtype.simpleString().encode() for c in plan}


def keyed_schema(schema: T.StructType) -> T.StructType:
    """The schema `with_keys` gives (the helper columns the plans read)."""
    extra = [(VERSION_COLUMN, T.StringType()), (MAIN_KEY, T.StringType()), (OBJECT_KEY, T.StringType())]
    return T.StructType([*schema.fields, *(T.StructField(n, t) for n, t in extra)])
