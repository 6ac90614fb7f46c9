"""Fields of Arrow columns, as Spark's `col("a.b")` reads them: `field_of(column, name)` is the field `name` of a
struct column, or of each element of an array-of-structs column (one array per row, null where the row's array
is null). Chunked columns and slices (a table cut into row ranges) are handled here, once, for every stage."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["field_of"]


def _is_list(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_list(data_type) or pa.types.is_large_list(data_type))


def _field_type(data_type: pa.DataType, name: str) -> pa.DataType:
    if pa.types.is_large_list(data_type):
        return pa.large_list(data_type.value_type.field(name).type)
    if pa.types.is_list(data_type):
        return pa.list_(data_type.value_type.field(name).type)
    return data_type.field(name).type


def field_of(column: pa.ChunkedArray | pa.Array, name: str) -> pa.ChunkedArray | pa.Array:
    """The field `name` of a struct column, or of every element of an array-of-structs column."""
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([field_of(chunk, name) for chunk in column.chunks], type=_field_type(column.type, name))
    if _is_list(column.type):
        if column.offset:  # a slice: `from_arrays` with a mask wants offsets that start the buffer
            column = pa.concat_arrays([column])
        values = pc.struct_field(column.values, name)
        return type(column).from_arrays(column.offsets, values, mask=column.is_null())
    return pc.struct_field(column, name)
