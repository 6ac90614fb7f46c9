"""The archive's rows built in Arrow: the same keys and cells as `fink_archive.transform`, without the JVM.

The archive's tasks read their science parquet with pyarrow (`fink_archive.writer`); `keyed_frame` adds the key
parts to a batch of alerts (the helper columns of `transform.with_keys`, by the same `tables` functions), and
`table_rows` gives the `(rowkey, cells)` of every table, each table by the rule `transform` documents for it
(main, cutouts, the four indexes, and the survey's own tables: ZTF's history here, LSST's in `lsst_rows`).
The plans (`fink_archive.plans`, from the Spark schema of the input) decide the cells, and `fink_archive.text`
writes them as Spark does, so a reader cannot tell which path wrote a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import types as T

from fink_archive.layout import SurveyLayout, salt
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
    history_plan,
    index_plan,
    main_plan,
)
from fink_archive.tables import KEY_SEP, UNNAMED_SSO, ArchiveTables, jd_key, pixel_key, sky_pixels
from fink_archive.text import cell_bytes
from fink_common.arrays import field_of
from fink_common.hbase import Row

__all__ = [
    "ArrowRule",
    "TablePlans",
    "cells_of",
    "column_at",
    "jd_keys",
    "join_key",
    "keyed_frame",
    "sso_names",
    "table_plans",
    "table_rows",
    "texts",
]

#: A table's rule: (the keyed frame, the layout) -> the selected rows as a frame and their rowkeys.
ArrowRule = Callable[[pa.Table, SurveyLayout], tuple[pa.Table, list[str]]]
_NULL_NAMES = frozenset({"", "null", "none", "nan"})


def column_at(frame: pa.Table, path: str) -> pa.ChunkedArray | None:
    """The column at `path` (a top-level name or `struct.field...`), None if the frame lacks it."""
    head, *rest = path.split(".")
    if head not in frame.column_names:
        return None
    column = frame.column(head)
    for name in rest:
        if not _has_field(column.type, name):
            return None
        column = field_of(column, name)
    return column  # type: ignore[return-value]


def _has_field(kind: pa.DataType, name: str) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        kind = kind.value_type
    return pa.types.is_struct(kind) and kind.get_field_index(name) >= 0


def texts(column: pa.ChunkedArray | pa.Array | None, n: int) -> list[str | None]:
    """A column as text, as Spark's `cast("string")` of an id (integers in decimal); all None if absent."""
    if column is None:
        return [None] * n
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    return column.to_pylist()  # type: ignore[no-any-return]


def jd_keys(times: pa.ChunkedArray | pa.Array | None, n: int) -> list[str | None]:
    """The key text of each time (`tables.jd_key`), None for a null or NaN one."""
    if times is None:
        return [None] * n
    values = times.cast(pa.float64()).to_pylist()
    return [None if v is None or v != v else jd_key(v) for v in values]


def join_key(*parts: str | None) -> str:
    """`concat_ws("_", ...)`: the parts that are not null, joined."""
    return KEY_SEP.join(p for p in parts if p is not None)


def _coalesce(*columns: list[str | None]) -> list[str | None]:
    return [next((v for v in values if v is not None), None) for values in zip(*columns, strict=True)]


def keyed_frame(batch: pa.Table, layout: SurveyLayout, version: str) -> tuple[pa.Table, int]:
    """The keyed alerts of a batch with the key parts of `transform.with_keys` as columns, and how many alerts
    of the batch had no key (a null object, alert id or time): no table holds those."""
    n = batch.num_rows
    objects = _coalesce(*(texts(column_at(batch, c), n) for c in layout.object_columns if column_at(batch, c) is not None))
    alerts = column_at(batch, layout.alert_column)
    alert_ids = alerts.to_pylist() if alerts is not None else [None] * n
    time = column_at(batch, layout.time_column)
    times = time.cast(pa.float64()) if time is not None else pa.nulls(n, pa.float64())
    jds = jd_keys(times, n)
    ra, dec = column_at(batch, layout.ra_column), column_at(batch, layout.dec_column)
    if ra is not None and dec is not None:
        pixels = sky_pixels(
            ra.cast(pa.float64()).to_numpy(zero_copy_only=False), dec.cast(pa.float64()).to_numpy(zero_copy_only=False)
        )
        pixel_keys = [pixel_key(int(p)) if p >= 0 else None for p in pixels]
    else:
        pixel_keys = [None] * n
    keyed = [o is not None and a is not None and j is not None for o, a, j in zip(objects, alert_ids, jds, strict=True)]
    rows = np.flatnonzero(keyed)
    take = (lambda values: [values[i] for i in rows]) if len(rows) < n else (lambda values: values)
    frame = batch.take(pa.array(rows, pa.int64())) if len(rows) < n else batch
    objects, alert_ids, jds = take(objects), take(alert_ids), take(jds)
    head = [salt(o) if o is not None else None for o in objects] if layout.salted else [None] * len(objects)
    extra = {
        OBJECT_KEY: pa.array(objects, pa.string()),
        ALERT_KEY: pa.array(alert_ids, pa.int64()),
        TIME_KEY: times.take(pa.array(rows, pa.int64())) if len(rows) < n else times,
        VERSION_COLUMN: pa.array([version] * len(rows), pa.string()),
        JD_KEY: pa.array(jds, pa.string()),
        PIXEL_KEY: pa.array(take(pixel_keys), pa.string()),
        MAIN_KEY: pa.array(
            [join_key(s, o, j, str(a)) for s, o, j, a in zip(head, objects, jds, alert_ids, strict=True)], pa.string()
        ),
    }
    for name, values in extra.items():
        frame = frame.append_column(name, values)
    return frame, n - len(rows)


def cells_of(frame: pa.Table, keys: Sequence[str], plan: Sequence[Cell]) -> list[Row]:
    """The (rowkey, cells) of each row of `frame`, its cells by `plan` (a null value has no cell)."""
    columns = []
    for cell in plan:
        column = column_at(frame, cell.path)
        if column is not None:
            columns.append((cell.name.encode(), cell_bytes(column, cell.dtype)))
    return [
        (key.encode(), {name: value for name, values in columns if (value := values[i]) is not None})
        for i, key in enumerate(keys)
    ]


def _where(frame: pa.Table, mask: Sequence[bool] | np.ndarray) -> pa.Table:
    keep = np.asarray(mask, dtype=bool)
    return frame if keep.all() else frame.filter(pa.array(keep))


def _list(frame: pa.Table, name: str) -> list[Any]:
    return frame.column(name).to_pylist()  # type: ignore[no-any-return]


def _index_key(frame: pa.Table, head: Sequence[str | None]) -> list[str]:
    parts = zip(head, _list(frame, JD_KEY), _list(frame, OBJECT_KEY), texts(frame.column(ALERT_KEY), frame.num_rows), strict=True)
    return [join_key(*p) for p in parts]


def _main(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    return frame, _list(frame, MAIN_KEY)


def _by_class(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    if "classification" not in frame.column_names:
        return frame.slice(0, 0), []
    rows = _where(frame, pc.is_valid(frame.column("classification")).to_numpy(zero_copy_only=False))
    return rows, _index_key(rows, _list(rows, "classification"))


def _by_pixel(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    rows = _where(frame, pc.is_valid(frame.column(PIXEL_KEY)).to_numpy(zero_copy_only=False))
    return rows, _index_key(rows, _list(rows, PIXEL_KEY))


def _by_time(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    head = [salt(a) for a in _list(frame, ALERT_KEY)] if layout.salted else [None] * frame.num_rows
    return frame, _index_key(frame, head)


def sso_names(frame: pa.Table, layout: SurveyLayout) -> list[str | None]:
    """`transform.sso_name`: the first of the layout's name columns that names something, trimmed."""
    names: list[str | None] = [None] * frame.num_rows
    for path in layout.sso_name_paths:
        column = column_at(frame, path)
        if column is None:
            continue
        for i, value in enumerate(texts(column, frame.num_rows)):
            if names[i] is None and value is not None:
                name = value.strip(" ")
                names[i] = name if name.lower() not in _NULL_NAMES else None
    return names


def _by_sso(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    n = frame.num_rows
    names = sso_names(frame, layout)
    wanted = [name is not None for name in names]
    fallback: list[str | None] = [UNNAMED_SSO] * n
    if layout.sso_id_column and layout.sso_id_column in frame.column_names:
        fallback = texts(frame.column(layout.sso_id_column), n)
        wanted = [w or f is not None for w, f in zip(wanted, fallback, strict=True)]
    if layout.sso_flag and layout.sso_flag[0] in frame.column_names:
        flags = frame.column(layout.sso_flag[0]).to_pylist()
        wanted = [w or f == layout.sso_flag[1] for w, f in zip(wanted, flags, strict=True)]
    keep = np.asarray(wanted, dtype=bool)
    rows = _where(frame, keep)
    head = [name if name is not None else f for name, f, k in zip(names, fallback, keep, strict=True) if k]
    return rows, _index_key(rows, head)


def _history(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    history = column_at(frame, HISTORY_COLUMNS[0])
    if history is None:
        return frame.slice(0, 0), []
    sizes = pc.fill_null(pc.list_value_length(history), 0).to_numpy(zero_copy_only=False)
    rows = _where(frame, sizes > 0)
    rows = rows.append_column(HISTORY_POINTS, rows.column(HISTORY_COLUMNS[0]))
    return rows, _list(rows, MAIN_KEY)


@dataclass(frozen=True)
class TablePlans:
    """Each table of a survey with its rule and its plan (from the Spark schema of the keyed input)."""

    tables: tuple[tuple[str, ArrowRule, tuple[Cell, ...]], ...]
    latest: Mapping[str, bytes]

    def names(self) -> list[str]:
        return [name for name, _, _ in self.tables]


def table_plans(keyed: T.StructType, tables: ArchiveTables) -> TablePlans:
    """The rules and plans of every table of `tables` (their plans as `transform.archive_cells` takes them)."""
    from fink_archive import lsst, lsst_rows
    from fink_archive.transform import latest_tables

    layout = tables.layout
    index = tuple(index_plan(keyed, layout))
    common: list[tuple[str, ArrowRule, tuple[Cell, ...]]] = [
        (tables.main, _main, tuple(main_plan(keyed, layout))),
        (tables.cutouts, _main, tuple(cutout_plan(keyed, layout))),
        (tables.by_class, _by_class, index),
        (tables.by_pixel, _by_pixel, index),
        (tables.by_time, _by_time, index),
        (tables.by_sso, _by_sso, index),
    ]
    plans = {"history": history_plan, **{s: rule[1] for s, rule in lsst.TABLE_RULES.items()}}
    rules: dict[str, ArrowRule] = {"history": _history, **lsst_rows.ARROW_RULES}
    for name, suffix in zip(tables.extra, layout.extra_tables, strict=True):
        common.append((name, rules[suffix], tuple(plans[suffix](keyed, layout))))
    return TablePlans(tuple(common), latest_tables(tables))


def table_rows(frame: pa.Table, layout: SurveyLayout, plans: TablePlans, only: Sequence[str] | None = None) -> Iterator[tuple[str, list[Row]]]:
    """(table, its rows) for each table (or those named in `only`) of a keyed frame."""
    for name, rule, plan in plans.tables:
        if only is not None and name not in only:
            continue
        rows, keys = rule(frame, layout)
        if keys:
            yield name, cells_of(rows, keys, plan)
