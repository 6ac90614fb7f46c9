"""Arrow <-> pandas for the science modules on the fast path (`writer`): the module inputs of a batch of raw rows,
and the modules' outputs back as Arrow columns, the same values the pandas UDFs of the DataFrame path
(`science.adapter`) receive and return.

Inputs, by path (`science.module`): a top-level column; `<struct>.<field>` (nested as deep as needed); `c<field>`,
the history array followed by the current detection (`adapter.history_column`: just the current value when
the alert has no history); `forced_<field>`, the forced-photometry array's field. They are converted to pandas
as pyspark converts a pandas UDF's arguments (pyarrow's `to_pandas`, dates as objects): a scalar as a Series,
an array as a Series of numpy arrays (nulls as NaN in a float array).

Outputs: each field's Series becomes an Arrow array of the field's type with NaN and None as null (what pyspark
does with a pandas UDF's result), a struct module's fields one struct column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fink_common.arrays import field_of
from fink_raw2science.science.lightcurve import forced_field, history_field
from fink_raw2science.science.module import ScienceModule

__all__ = ["ARROW_TYPES", "history_array", "input_array", "input_frame", "output_columns"]

#: a module field's DDL type -> its Arrow type (as pyspark maps the Spark type)
ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "string": pa.string(),
}


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


#: Spark's numeric precedence, narrowest first: concat of two arrays takes the wider element type
_NUMERIC = (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.float32(), pa.float64())


def _common(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The element type of concat(a-array, b-array): a when they agree, else the wider numeric one."""
    if a != b and a in _NUMERIC and b in _NUMERIC:
        return max(a, b, key=_NUMERIC.index)
    return a


def history_array(table: pa.Table, field: str, sections: tuple[str, str]) -> pa.ListArray:
    """`c<field>` for every row: `<history>.<field>` then `<current>.<field>`; [current] without history."""
    history, now = _column(table, sections[0]), _column(table, sections[1])
    lengths = pc.fill_null(pc.list_value_length(history), 0).to_numpy().astype(np.int64)
    past = pc.struct_field(history.flatten(), field)
    current = pc.struct_field(now, field)
    kind = _common(past.type, current.type)
    past, current = past.cast(kind), current.cast(kind)
    n = len(current)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=offsets[1:])
    last = offsets[1:] - 1  # where each row's current value goes
    order = np.empty(int(offsets[-1]), dtype=np.int64)
    is_past = np.ones(len(order), dtype=bool)
    is_past[last] = False
    order[is_past] = np.arange(len(past))
    order[last] = len(past) + np.arange(n)
    values = pa.concat_arrays([past, current]).take(pa.array(order))
    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)
    return pa.LargeListArray.from_arrays(pa.array(offsets), values)


def input_array(
    table: pa.Table, path: str, sections: tuple[str, str], forced: str | None
) -> pa.Array | None:
    """The input column `path` of a raw batch; None when the batch cannot provide it (an earlier module's output
    or a missing column, which the module plan check reports)."""
    names = set(table.column_names)
    if path in names:
        return _column(table, path)
    if (field := history_field(path)) is not None and {*sections} <= names:
        return history_array(table, field, sections)
    if (field := forced_field(path)) is not None and forced is not None and forced in names:
        return field_of(_column(table, forced), field)
    head, *rest = path.split(".")
    if not rest or head not in names:
        return None
    array = _column(table, head)
    try:
        for part in rest:
            array = field_of(array, part)
    except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return array


def input_frame(
    table: pa.Table, modules: Sequence[ScienceModule], sections: tuple[str, str], forced: str | None
) -> pd.DataFrame:
    """The modules' input columns (those no earlier module produces) as pandas, one column per path."""
    produced = {c for m in modules for c in (*m.columns, *m.frame_columns)}
    data: dict[str, pd.Series] = {}
    for module in modules:
        for path in module.inputs:
            if path in produced or path in data:
                continue
            array = input_array(table, path, sections, forced)
            if array is not None:
                data[path] = array.to_pandas(date_as_object=True)
    return pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))


def _to_arrow(values: pd.Series, kind: pa.DataType) -> pa.Array:
    return pa.Array.from_pandas(values, mask=values.isna().to_numpy(), type=kind, safe=False)


def output_columns(frame: pd.DataFrame, modules: Iterable[ScienceModule]) -> dict[str, pa.Array]:
    """The modules' output columns of a `run_modules` frame, as Arrow: top-level column -> array."""
    out: dict[str, pa.Array] = {}
    for module in modules:
        arrays = [
            _to_arrow(frame[column].reset_index(drop=True), ARROW_TYPES[f.ddl])
            for column, f in zip(module.frame_columns, module.fields, strict=True)
        ]
        if module.struct is not None:
            out[module.struct] = pa.StructArray.from_arrays(arrays, names=[f.name for f in module.fields])
        else:
            out.update(zip(module.columns, arrays, strict=True))
    return out
