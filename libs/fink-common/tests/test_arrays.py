"""`field_of`: a struct field, and a field of every element of an array of structs, on whole, chunked and sliced
columns (a slice once made `ListArray.from_arrays` refuse the null mask)."""

from __future__ import annotations

import pyarrow as pa

from fink_common.arrays import field_of

POINT = pa.struct([("x", pa.int64()), ("y", pa.float32())])


def test_field_of_each_element_of_an_array_of_structs_whole_and_sliced() -> None:
    column = pa.array([[{"x": 1, "y": 0.5}], None, [{"x": 2, "y": None}, {"x": 3, "y": 1.5}], []], pa.list_(POINT))
    assert field_of(column, "x").to_pylist() == [[1], None, [2, 3], []]
    assert field_of(column.slice(1, 3), "x").to_pylist() == [None, [2, 3], []]
    assert field_of(column.slice(2, 1), "y").to_pylist() == [[None, 1.5]]


def test_field_of_a_struct_and_of_a_chunked_column() -> None:
    chunked = pa.chunked_array([pa.array([{"x": 1, "y": 2.0}], POINT), pa.array([None, {"x": 4, "y": None}], POINT)])
    got = field_of(chunked, "x")
    assert isinstance(got, pa.ChunkedArray) and got.type == pa.int64()
    assert got.to_pylist() == [1, None, 4]
    lists = pa.chunked_array([pa.array([[{"x": 7, "y": 0.0}]], pa.list_(POINT)), pa.array([None], pa.list_(POINT))])
    assert field_of(lists, "x").to_pylist() == [[7], None]
